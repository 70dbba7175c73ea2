#include "password_check.h"

#include <krb5/krb5.h>

#include <cstring>
#include <optional>
#include <vector>

#include "../krb5/krb5_handles.h"

namespace negotiate {
namespace {

// The password as krb5 wants it (NUL-terminated), wiped when it goes out of scope.
class SecretText {
 public:
  SecretText(const uint8_t* data, size_t size) : text_(size + 1, '\0') {
    if (size > 0) std::memcpy(text_.data(), data, size);
  }
  ~SecretText() {
    // volatile: the compiler must not drop the stores to memory it is about to free.
    volatile char* p = text_.data();
    for (size_t i = 0; i < text_.size(); ++i) p[i] = '\0';
  }
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;
  const char* c_str() const { return text_.data(); }

 private:
  std::vector<char> text_;
};

class OwnedPrincipal {
 public:
  explicit OwnedPrincipal(krb5_context ctx) : ctx_(ctx) {}
  ~OwnedPrincipal() {
    if (p_ != nullptr) krb5_free_principal(ctx_, p_);
  }
  OwnedPrincipal(const OwnedPrincipal&) = delete;
  OwnedPrincipal& operator=(const OwnedPrincipal&) = delete;
  krb5_principal get() const { return p_; }
  krb5_principal* out() { return &p_; }

 private:
  krb5_context ctx_;
  krb5_principal p_ = nullptr;
};

class InitCredsOptions {
 public:
  explicit InitCredsOptions(krb5_context ctx) : ctx_(ctx) {
    code_ = krb5_get_init_creds_opt_alloc(ctx_, &opt_);
  }
  ~InitCredsOptions() {
    if (code_ == 0) krb5_get_init_creds_opt_free(ctx_, opt_);
  }
  InitCredsOptions(const InitCredsOptions&) = delete;
  InitCredsOptions& operator=(const InitCredsOptions&) = delete;
  krb5_get_init_creds_opt* get() const { return opt_; }
  krb5_error_code code() const { return code_; }

 private:
  krb5_context ctx_;
  krb5_get_init_creds_opt* opt_ = nullptr;
  krb5_error_code code_ = 0;
};

// The tickets of one check: freed (their session keys included) when it goes out of scope.
class Creds {
 public:
  explicit Creds(krb5_context ctx) : ctx_(ctx) { std::memset(&creds_, 0, sizeof creds_); }
  ~Creds() { krb5_free_cred_contents(ctx_, &creds_); }
  Creds(const Creds&) = delete;
  Creds& operator=(const Creds&) = delete;
  krb5_creds* get() { return &creds_; }

 private:
  krb5_context ctx_;
  krb5_creds creds_;
};

GssStatus Krb5Failure(krb5_context ctx, const char* code, const char* what, krb5_error_code err) {
  GssStatus st = MakeStatus(code, std::string(what) + ": " + ErrorText(ctx, err));
  st.minor = static_cast<OM_uint32>(err);
  return st;
}

// The stable code for what the AS exchange answered.
const char* AsFailureCode(krb5_error_code err) {
  switch (err) {
    case KRB5KDC_ERR_PREAUTH_FAILED:
    case KRB5KRB_AP_ERR_BAD_INTEGRITY:
    case KRB5_PREAUTH_FAILED:
      return "ERR_BASIC_BAD_PASSWORD";
    case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
      return "ERR_BASIC_UNKNOWN_PRINCIPAL";
    case KRB5KDC_ERR_KEY_EXP:
      return "ERR_BASIC_PASSWORD_EXPIRED";
    case KRB5_KDC_UNREACH:
    case KRB5_REALM_CANT_RESOLVE:
    case KRB5_REALM_UNKNOWN:
    case KRB5_CONFIG_NODEFREALM:
      return "ERR_BASIC_KDC_UNREACHABLE";
    default:
      return "ERR_BASIC_REFUSED";
  }
}

}  // namespace

GssStatus CheckPassword(const PasswordCheckRequest& request, CheckedUser* user) {
  SecretText password(request.password, request.password_size);
  Krb5Context ctx;
  if (ctx.code() != 0) return MakeStatus("ERR_BASIC_REFUSED", "krb5_init_context failed");
  krb5_context c = ctx.get();

  OwnedPrincipal client(c);
  krb5_error_code err = krb5_parse_name(c, request.user.c_str(), client.out());
  if (err != 0)
    return Krb5Failure(c, "ERR_BASIC_BAD_NAME", "the user name is not a principal", err);

  InitCredsOptions opt(c);
  if (opt.code() != 0) return Krb5Failure(c, "ERR_BASIC_REFUSED", "init creds options", opt.code());
  // A TGT only to prove the password: nothing forwardable, proxiable or renewable, short-lived.
  krb5_get_init_creds_opt_set_forwardable(opt.get(), 0);
  krb5_get_init_creds_opt_set_proxiable(opt.get(), 0);
  krb5_get_init_creds_opt_set_renew_life(opt.get(), 0);
  krb5_get_init_creds_opt_set_tkt_life(opt.get(), 5 * 60);
  krb5_get_init_creds_opt_set_canonicalize(opt.get(), 1);

  Creds creds(c);
  // No prompter: an expired password answers KRB5KDC_ERR_KEY_EXP instead of asking for a new one.
  err = krb5_get_init_creds_password(c, creds.get(), client.get(), password.c_str(), nullptr,
                                     nullptr, 0, nullptr, opt.get());
  if (err != 0) return Krb5Failure(c, AsFailureCode(err), "AS exchange", err);

  std::optional<Keytab> keytab;
  krb5_keytab kt = nullptr;  // nullptr: krb5's default keytab
  if (!request.keytab.empty()) {
    keytab.emplace(c, request.keytab);
    if (keytab->code() != 0)
      return Krb5Failure(c, "ERR_BASIC_VERIFY_FAILED", "the service keytab", keytab->code());
    kt = keytab->get();
  }
  OwnedPrincipal server(c);
  if (!request.server.empty()) {
    err = krb5_parse_name(c, request.server.c_str(), server.out());
    if (err != 0) return Krb5Failure(c, "ERR_BASIC_VERIFY_FAILED", "the service principal", err);
  }
  krb5_verify_init_creds_opt vopt;
  krb5_verify_init_creds_opt_init(&vopt);
  // Without a usable service key, fail: never accept an unverified password.
  krb5_verify_init_creds_opt_set_ap_req_nofail(&vopt, 1);
  // ccache nullptr: the ticket for the service is not kept anywhere.
  err = krb5_verify_init_creds(c, creds.get(), server.get(), kt, nullptr, &vopt);
  if (err != 0)
    return Krb5Failure(c, "ERR_BASIC_VERIFY_FAILED",
                       "the KDC's reply could not be verified with the service key", err);

  char* name = nullptr;
  err = krb5_unparse_name(c, creds.get()->client, &name);
  if (err != 0) return Krb5Failure(c, "ERR_BASIC_REFUSED", "the client name", err);
  user->principal = name;
  krb5_free_unparsed_name(c, name);
  user->end_time = creds.get()->times.endtime;
  // Local names are an optional extra: a principal no rule maps simply has none.
  char local[256];
  if (krb5_aname_to_localname(c, creds.get()->client, sizeof local, local) == 0)
    user->local_name = local;
  char* realm = nullptr;
  if (krb5_get_default_realm(c, &realm) == 0) {
    user->default_realm = realm;
    krb5_free_default_realm(c, realm);
  }
  return GssStatus{};
}

}  // namespace negotiate
