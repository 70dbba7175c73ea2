// Constrained delegation as the service: protocol transition (S4U2Self) for a user named by the
// application, then S4U2Proxy to one target service, and the resulting ticket written to a new
// FILE ccache of its own. Plain C++ over GSSAPI and krb5; nothing here knows about N-API.
#ifndef NEGOTIATE_S4U_IMPERSONATE_H_
#define NEGOTIATE_S4U_IMPERSONATE_H_

#include <gssapi/gssapi.h>

#include <string>

#include "../gss/status.h"

namespace negotiate {

// File names this module creates start with this, like the delegated credentials' ".deleg-".
extern const char kImpersonatedTempPrefix[];

struct ImpersonateRequest {
  std::string keytab;   // the service's keytab (its keys are its client credential); "" = default
  std::string service;  // the impersonating service principal, e.g. "HTTP/www@EXAMPLE.COM"
  std::string user;     // the user to act as, e.g. "alice@EXAMPLE.COM"
  std::string target;   // "service@host" or a krb5 principal "ldap/db.example.com@EXAMPLE.COM"
  std::string dir;      // absolute directory for the new ccache
};

struct ImpersonatedCredential {
  std::string path;    // DIR/.s4u-XXXXXX, mode 0600: the user's ticket for the target only
  std::string client;  // the user as the KDC named it in the ticket
  std::string target;  // the target's principal as the ticket names it
  OM_uint32 lifetime_seconds = 0;
};

// Obtains a ticket for `request.user` to `request.target` without the user's password or TGT
// and writes it (only it: not the service's TGT, not the S4U2Self evidence ticket) to a new
// ccache file. Errors: ERR_S4U_SELF_REFUSED (the KDC would not issue a forwardable ticket for the
// user to the service: no protocol transition allowed, or no such user),
// ERR_S4U_PROXY_REFUSED (the target is not one the service may delegate to), or the usual GSS
// codes (ERR_GSS_NO_CRED when the keytab lacks the service's key). Talks to the KDC: call it on
// a worker thread. On failure nothing is left on disk.
GssStatus ImpersonateToCcache(const ImpersonateRequest& request, ImpersonatedCredential* out);

}  // namespace negotiate

#endif  // NEGOTIATE_S4U_IMPERSONATE_H_
