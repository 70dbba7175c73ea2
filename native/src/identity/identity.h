// What the server learns about a client once its context completes, beyond the principal:
// its local name, the service principal it authenticated to, and its delegated credential
// kept on disk. Each is computed only when the credential's options ask for it.
#ifndef NEGOTIATE_IDENTITY_IDENTITY_H_
#define NEGOTIATE_IDENTITY_IDENTITY_H_

#include <gssapi/gssapi.h>

#include <string>

namespace negotiate {

struct IdentityOptions {
  bool local_name = false;         // gss_localname (krb5.conf auth_to_local)
  bool service_principal = false;  // report the acceptor principal (for strip-realm in TS)
  std::string delegation_dir;      // keep delegated credentials here; empty: release them
};

// What a kept delegated credential is: the TGT the client forwarded (GSS_C_DELEG_FLAG), or,
// with S4U2Proxy at accept time, a proxy credential (the client's ticket to us plus our TGT)
// that reaches only the targets the KDC lets this service delegate to.
enum class DelegationKind { kForwarded, kConstrained };

struct IdentityOutcome {
  std::string local_name;          // empty when not asked for or not mapped
  std::string local_name_refused;  // why there is none, when asked for
  std::string service_principal;
  std::string delegated_path;        // a new ccache file in delegation_dir, or empty
  OM_uint32 delegated_lifetime = 0;  // seconds, or GSS_C_INDEFINITE
  DelegationKind delegated_kind = DelegationKind::kForwarded;
  std::string delegation_refused;  // why a delegated credential was not kept
};

// Fills `out` for the context `ctx` that has just completed for `client` under `mech` (`krb5`:
// a Kerberos context, SPNEGO's or raw); `delegated` is the credential accept returned
// (GSS_C_NO_CREDENTIAL when none), of kind `kind`. Never fails: what cannot be computed is left
// empty with the reason beside it.
void CompleteIdentity(const IdentityOptions& options, gss_ctx_id_t ctx, gss_name_t client,
                      gss_OID mech, bool krb5, gss_cred_id_t delegated, DelegationKind kind,
                      IdentityOutcome* out);

}  // namespace negotiate

#endif  // NEGOTIATE_IDENTITY_IDENTITY_H_
