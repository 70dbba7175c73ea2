// S4U2Proxy at accept time (mod_auth_gssapi's GssapiUseS4U2Proxy): an acceptor credential that
// can also initiate makes MIT's gss_accept_sec_context return, for a client that delegated
// nothing, a "proxy" credential: the client's ticket to us (the evidence ticket) plus our own
// TGT, with which gss_init_sec_context does S4U2Proxy. Plain C++ over GSSAPI and krb5.
#ifndef NEGOTIATE_S4U_PROXY_CRED_H_
#define NEGOTIATE_S4U_PROXY_CRED_H_

#include <gssapi/gssapi.h>

#include <string>

#include "../gss/status.h"

namespace negotiate {

// A new MEMORY ccache name, unique in this process: the private cache in which one acceptor
// credential keeps the service's own TGT (got from the client keytab when needed).
std::string ProxyTgtCcacheName();

// Whether `delegated`, a credential gss_accept_sec_context returned, is such a proxy
// credential (MIT marks it with the ccache setting `proxy_impersonator`) rather than a TGT the
// client forwarded. Copies it into a MEMORY ccache to ask; nothing is left behind.
GssStatus IsProxyCredential(gss_cred_id_t delegated, bool* proxy);

}  // namespace negotiate

#endif  // NEGOTIATE_S4U_PROXY_CRED_H_
