// The PAC of an accepted Kerberos context, read from the client's name through GSSAPI naming
// extensions (RFC 6680). MIT's mspac plugin verifies the PAC's server signature and its client
// info against the ticket, and reports a buffer as authenticated only then.
#ifndef NEGOTIATE_PAC_GSS_PAC_H_
#define NEGOTIATE_PAC_GSS_PAC_H_

#include <gssapi/gssapi.h>

#include <string>

#include "pac_info.h"

namespace negotiate {
namespace pac {

enum class PacRead { kAbsent, kUsed, kRefused };

// Fills `out` from the authenticated `urn:mspac:logon-info` (and `urn:mspac:upn-dns-info`) of
// `name`. kAbsent: no logon info (an MIT KDC's ticket). kRefused: there is one, but it is not
// authenticated, its client info does not name `principal`, or it does not decode; `why` says
// which. Only kUsed fills `out`.
PacRead ReadPac(gss_name_t name, const std::string& principal, PacInfo* out, std::string* why);

// True when the PAC_CLIENT_INFO name `client_name` names `principal` (`user@REALM`): the whole
// principal, or its part before the realm, compared without regard to ASCII case as AD does.
bool ClientNameMatches(const std::string& client_name, const std::string& principal);

}  // namespace pac
}  // namespace negotiate

#endif  // NEGOTIATE_PAC_GSS_PAC_H_
