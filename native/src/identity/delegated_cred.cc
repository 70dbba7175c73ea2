#include "delegated_cred.h"

#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <utility>
#include <vector>

#include "../files/temp_file.h"
#include "../gss/store_cred.h"

namespace negotiate {

const char kDelegatedTempPrefix[] = ".deleg-";

GssStatus StoreDelegatedCredential(gss_cred_id_t delegated, const std::string& dir,
                                   StoredCredential* out) {
  std::string pattern = dir + "/" + kDelegatedTempPrefix + "XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = mkstemp(name.data());
  if (fd < 0) {
    int err = errno;
    return MakeStatus("ERR_GSS_FAILURE", "store delegated credential: cannot create a file in " +
                                             dir + ": " + std::generic_category().message(err));
  }
  close(fd);
  TempFile file(name.data());

  std::string ccache = "FILE:" + file.path();
  OM_uint32 minor = 0;
  OM_uint32 major = StoreKrb5CredInto(&minor, delegated, ccache);
  if (GSS_ERROR(major)) {
    return MakeGssStatus("store delegated credential", major, minor, gss_mech_krb5);
  }
  OM_uint32 lifetime = 0;
  major = gss_inquire_cred(&minor, delegated, nullptr, &lifetime, nullptr, nullptr);
  if (GSS_ERROR(major)) {
    return MakeGssStatus("delegated credential lifetime", major, minor, gss_mech_krb5);
  }
  out->lifetime_seconds = lifetime;
  out->path = file.Keep();
  return GssStatus{};
}

}  // namespace negotiate
