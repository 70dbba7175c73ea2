#include "proxy_cred.h"

#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>

#include "../gss/store_cred.h"
#include "../krb5/krb5_handles.h"
#include "../krb5/memory_ccache.h"

namespace negotiate {

std::string ProxyTgtCcacheName() { return UniqueMemoryCcacheName("s4u2proxy-tgt"); }

GssStatus IsProxyCredential(gss_cred_id_t delegated, bool* proxy) {
  *proxy = false;
  Krb5Context ctx;
  if (ctx.code() != 0) {
    return MakeStatus("ERR_GSS_FAILURE", "delegated credential kind: cannot open a krb5 context");
  }
  std::string name = UniqueMemoryCcacheName("deleg-kind");
  DestroyedCcache cc(ctx.get(), name);
  if (cc.code() != 0) {
    return MakeStatus("ERR_GSS_FAILURE",
                      "delegated credential kind: " + ErrorText(ctx.get(), cc.code()));
  }
  OM_uint32 minor = 0;
  OM_uint32 major = StoreKrb5CredInto(&minor, delegated, name);
  if (GSS_ERROR(major)) {
    return MakeGssStatus("delegated credential kind", major, minor, gss_mech_krb5);
  }
  // MIT writes this setting when it stores a credential that has an impersonator (its
  // s4u_gss_glue.c / store_cred.c); a forwarded TGT has none.
  krb5_data data = {};
  krb5_error_code code =
      krb5_cc_get_config(ctx.get(), cc.get(), nullptr, "proxy_impersonator", &data);
  if (code == 0) {
    *proxy = true;
    krb5_free_data_contents(ctx.get(), &data);
  }
  return GssStatus{};
}

}  // namespace negotiate
