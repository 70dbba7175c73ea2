// The local (operating-system) name of an authenticated client, and the service principal a
// context was accepted for. Plain C++ over GSSAPI.
#ifndef NEGOTIATE_IDENTITY_LOCAL_NAME_H_
#define NEGOTIATE_IDENTITY_LOCAL_NAME_H_

#include <gssapi/gssapi.h>

#include <string>

#include "../gss/status.h"

namespace negotiate {

// gss_localname of `client` (the name accept returned) under `mech`: for krb5, MIT applies the
// client realm's krb5.conf `auth_to_local` rules (default: the DEFAULT rule, which maps a
// one-component principal of the default realm to its name). A principal no rule maps is a
// non-ok status, which callers report as "no local name", never as a failed handshake.
GssStatus LocalNameOf(gss_name_t client, gss_OID mech, std::string* out);

// The display name of the acceptor (service) principal the established `ctx` was accepted for,
// e.g. "HTTP/www.example.com@EXAMPLE.COM": the realm a client's realm is compared with.
GssStatus ServicePrincipalOf(gss_ctx_id_t ctx, std::string* out);

}  // namespace negotiate

#endif  // NEGOTIATE_IDENTITY_LOCAL_NAME_H_
