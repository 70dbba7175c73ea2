#include "identity.h"

#include "delegated_cred.h"
#include "local_name.h"

namespace negotiate {

void CompleteIdentity(const IdentityOptions& options, gss_ctx_id_t ctx, gss_name_t client,
                      gss_OID mech, gss_cred_id_t delegated, IdentityOutcome* out) {
  if (options.local_name) {
    GssStatus st = LocalNameOf(client, mech, &out->local_name);
    if (!st.ok()) out->local_name_refused = st.message;
  }
  if (options.service_principal) {
    // Without it strip-realm gives no local name: never a guess at the server's realm.
    ServicePrincipalOf(ctx, &out->service_principal);
  }
  if (!options.delegation_dir.empty() && delegated != GSS_C_NO_CREDENTIAL) {
    StoredCredential stored;
    GssStatus st = StoreDelegatedCredential(delegated, options.delegation_dir, &stored);
    if (st.ok()) {
      out->delegated_path = std::move(stored.path);
      out->delegated_lifetime = stored.lifetime_seconds;
    } else {
      out->delegation_refused = st.message;
    }
  }
}

}  // namespace negotiate
