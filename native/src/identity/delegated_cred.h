// Keeping a client's delegated (forwarded) Kerberos credential: written with
// gss_store_cred_into into a new FILE ccache of its own in a directory. Plain C++ over GSSAPI.
#ifndef NEGOTIATE_IDENTITY_DELEGATED_CRED_H_
#define NEGOTIATE_IDENTITY_DELEGATED_CRED_H_

#include <gssapi/gssapi.h>

#include <string>

#include "../gss/status.h"

namespace negotiate {

// File names this module creates start with this; a principal's file name never does (the
// TypeScript layer escapes a leading '.'), so leftovers can be found and removed.
extern const char kDelegatedTempPrefix[];

struct StoredCredential {
  std::string path;  // the new ccache file: DIR/.deleg-XXXXXX, mode 0600
  // Seconds the credential (the forwarded TGT) stays valid; GSS_C_INDEFINITE if it says so.
  OM_uint32 lifetime_seconds = 0;
};

// Stores `delegated` in a new, uniquely named file in `dir` (created 0600 by mkstemp, then
// written by MIT's FILE ccache). The caller renames it to its final name, so a reader never
// sees a half-written ccache. On failure nothing is left behind.
GssStatus StoreDelegatedCredential(gss_cred_id_t delegated, const std::string& dir,
                                   StoredCredential* out);

}  // namespace negotiate

#endif  // NEGOTIATE_IDENTITY_DELEGATED_CRED_H_
