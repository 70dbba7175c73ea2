// RAII owners for the krb5 objects the keytab code uses; each frees its handle once.
#ifndef NEGOTIATE_KRB5_KRB5_HANDLES_H_
#define NEGOTIATE_KRB5_KRB5_HANDLES_H_

#include <krb5/krb5.h>

#include <string>

namespace negotiate {

class Krb5Context {
 public:
  Krb5Context() { code_ = krb5_init_context(&ctx_); }
  ~Krb5Context() {
    if (code_ == 0) krb5_free_context(ctx_);
  }
  Krb5Context(const Krb5Context&) = delete;
  Krb5Context& operator=(const Krb5Context&) = delete;
  krb5_context get() const { return ctx_; }
  krb5_error_code code() const { return code_; }

 private:
  krb5_context ctx_ = nullptr;
  krb5_error_code code_ = 0;
};

class Keytab {
 public:
  Keytab(krb5_context ctx, const std::string& name) : ctx_(ctx) {
    code_ = krb5_kt_resolve(ctx_, name.c_str(), &kt_);
  }
  ~Keytab() {
    if (code_ == 0) krb5_kt_close(ctx_, kt_);
  }
  Keytab(const Keytab&) = delete;
  Keytab& operator=(const Keytab&) = delete;
  krb5_keytab get() const { return kt_; }
  krb5_error_code code() const { return code_; }

 private:
  krb5_context ctx_;
  krb5_keytab kt_ = nullptr;
  krb5_error_code code_ = 0;
};

inline std::string ErrorText(krb5_context ctx, krb5_error_code code) {
  const char* msg = krb5_get_error_message(ctx, code);
  std::string text = msg != nullptr ? msg : "unknown krb5 error";
  krb5_free_error_message(ctx, msg);
  return text;
}

}  // namespace negotiate

#endif  // NEGOTIATE_KRB5_KRB5_HANDLES_H_
