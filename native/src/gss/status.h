// GSS status as a value: major/minor codes, their `gss_display_status` text, and the stable
// error code the TypeScript layer exposes.
#ifndef NEGOTIATE_GSS_STATUS_H_
#define NEGOTIATE_GSS_STATUS_H_

#include <gssapi/gssapi.h>

#include <string>

namespace negotiate {

struct GssStatus {
  OM_uint32 major = GSS_S_COMPLETE;
  OM_uint32 minor = 0;
  std::string code;     // stable code, e.g. "ERR_GSS_DEFECTIVE_TOKEN"
  std::string message;  // "<what>: <major text> (<minor text>)"

  bool ok() const { return code.empty(); }
};

// Builds a failed status for a GSS call. `what` names the call or the step ("accept").
GssStatus MakeGssStatus(const char* what, OM_uint32 major, OM_uint32 minor, gss_OID mech);

// A failure that is ours rather than GSSAPI's (table full, busy, ...).
GssStatus MakeStatus(const char* code, std::string message);

// The stable code for a GSS major/minor pair. Well-known krb5 minors (replay, clock skew,
// wrong principal) take precedence over the routine error, which is usually GSS_S_FAILURE.
const char* ErrorCodeFor(OM_uint32 major, OM_uint32 minor);

// gss_display_status text for one code type, all messages joined with "; ".
std::string DisplayStatus(OM_uint32 code, int type, gss_OID mech);

}  // namespace negotiate

#endif  // NEGOTIATE_GSS_STATUS_H_
