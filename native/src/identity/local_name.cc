#include "local_name.h"

#include <gssapi/gssapi_ext.h>

#include "../gss/handles.h"

namespace negotiate {
namespace {

// A GSS display string as std::string, without the trailing NULs some mechanisms count.
std::string FromBuffer(const GssBuffer& buf) {
  std::string s(static_cast<const char*>(buf.data()), buf.size());
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace

GssStatus LocalNameOf(gss_name_t client, gss_OID mech, std::string* out) {
  GssBuffer local;
  OM_uint32 minor = 0;
  OM_uint32 major = gss_localname(&minor, client, mech, local.get());
  if (GSS_ERROR(major)) return MakeGssStatus("local name", major, minor, mech);
  std::string name = FromBuffer(local);
  // A name with a NUL inside would be cut short by every C API it is handed to.
  if (name.empty() || name.find('\0') != std::string::npos) {
    return MakeStatus("ERR_GSS_FAILURE", "local name: the mapping produced an unusable name");
  }
  *out = std::move(name);
  return GssStatus{};
}

GssStatus ServicePrincipalOf(gss_ctx_id_t ctx, std::string* out) {
  GssName target;
  OM_uint32 minor = 0;
  // For an acceptor the "target" is itself: the principal whose key decrypted the ticket.
  OM_uint32 major = gss_inquire_context(&minor, ctx, nullptr,  /* src_name */
                                        target.out(), nullptr, /* lifetime_rec */
                                        nullptr,               /* mech_type */
                                        nullptr,               /* ctx_flags */
                                        nullptr,               /* locally_initiated */
                                        nullptr /* open */);
  if (GSS_ERROR(major)) return MakeGssStatus("service principal", major, minor, GSS_C_NO_OID);
  GssBuffer display;
  major = gss_display_name(&minor, target.get(), display.get(), nullptr);
  if (GSS_ERROR(major)) return MakeGssStatus("service principal", major, minor, GSS_C_NO_OID);
  *out = FromBuffer(display);
  return GssStatus{};
}

}  // namespace negotiate
