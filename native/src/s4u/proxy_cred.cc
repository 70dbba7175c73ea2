#include "proxy_cred.h"

#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <unistd.h>

#include <atomic>

#include "../krb5/krb5_handles.h"

namespace negotiate {
namespace {

std::string UniqueMemoryName(const char* what) {
  static std::atomic<unsigned long> counter{0};
  return std::string("MEMORY:negotiate-") + what + "-" + std::to_string(getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

// A MEMORY ccache destroyed when it goes out of scope (MEMORY caches live until destroyed).
class ScratchCcache {
 public:
  ScratchCcache(krb5_context ctx, const std::string& name) : ctx_(ctx) {
    code_ = krb5_cc_resolve(ctx_, name.c_str(), &cc_);
  }
  ~ScratchCcache() {
    if (code_ == 0) krb5_cc_destroy(ctx_, cc_);
  }
  ScratchCcache(const ScratchCcache&) = delete;
  ScratchCcache& operator=(const ScratchCcache&) = delete;
  krb5_ccache get() const { return cc_; }
  krb5_error_code code() const { return code_; }

 private:
  krb5_context ctx_;
  krb5_ccache cc_ = nullptr;
  krb5_error_code code_ = 0;
};

}  // namespace

std::string ProxyTgtCcacheName() { return UniqueMemoryName("s4u2proxy-tgt"); }

GssStatus IsProxyCredential(gss_cred_id_t delegated, bool* proxy) {
  *proxy = false;
  Krb5Context ctx;
  if (ctx.code() != 0) {
    return MakeStatus("ERR_GSS_FAILURE", "delegated credential kind: cannot open a krb5 context");
  }
  std::string name = UniqueMemoryName("deleg-kind");
  ScratchCcache cc(ctx.get(), name);
  if (cc.code() != 0) {
    return MakeStatus("ERR_GSS_FAILURE",
                      "delegated credential kind: " + ErrorText(ctx.get(), cc.code()));
  }
  gss_key_value_element_desc element = {"ccache", name.c_str()};
  gss_key_value_set_desc store = {1, &element};
  OM_uint32 minor = 0;
  OM_uint32 major = gss_store_cred_into(&minor, delegated, GSS_C_INITIATE, gss_mech_krb5,
                                        1 /* overwrite_cred */, 0 /* default_cred */, &store,
                                        nullptr /* elements_stored */, nullptr /* cred_usage */);
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
