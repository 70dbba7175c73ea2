#include "identity.h"

#include "delegated_cred.h"
#include "local_name.h"

namespace negotiate {

void CompleteIdentity(const IdentityOptions& options, gss_ctx_id_t ctx, gss_name_t client,
                      gss_OID mech, bool krb5, gss_cred_id_t delegated, DelegationKind kind,
                      IdentityOutcome* out) {
  if (options.local_name) {
    GssStatus st = LocalNameOf(client, mech, &out->local_name);
    if (!st.ok()) out->local_name_refused = st.message;
  }
  // Kerberos only: gss-ntlmssp 1.2 crashes (strdup of NULL) when gss_inquire_context asks an
  // NTLM acceptor context for its target name, and an NTLM name has no realm to compare.
  if (options.service_principal && krb5) {
    // Without it strip-realm gives no local name: never a guess at the server's realm.
    ServicePrincipalOf(ctx, &out->service_principal);
  }
  if (!options.delegation_dir.empty() && delegated != GSS_C_NO_CREDENTIAL) {
    StoredCredential stored;
    GssStatus st = StoreDelegatedCredential(delegated, options.delegation_dir, &stored);
    if (st.ok()) {
      out->delegated_path = std::move(stored.path);
      out->delegated_lifetime = stored.lifetime_seconds;
      out->delegated_kind = kind;
    } else {
      out->delegation_refused = st.message;
    }
  }
}

}  // namespace negotiate
