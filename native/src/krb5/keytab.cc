#include "keytab.h"

#include <krb5/krb5.h>

#include <algorithm>

namespace negotiate {
namespace {

// Owners for the krb5 objects used here; each frees its handle once.
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

std::string ErrorText(krb5_context ctx, krb5_error_code code) {
  const char* msg = krb5_get_error_message(ctx, code);
  std::string text = msg != nullptr ? msg : "unknown krb5 error";
  krb5_free_error_message(ctx, msg);
  return text;
}

}  // namespace

KeytabListing ListKeytab(const std::string& path) {
  KeytabListing out;
  Krb5Context ctx;
  if (ctx.code() != 0) {
    out.error = "cannot initialise krb5";
    return out;
  }
  // A bare path would be taken as a keytab *type* if it contained a colon.
  std::string name = path.find(':') == std::string::npos ? "FILE:" + path : path;
  Keytab kt(ctx.get(), name);
  if (kt.code() != 0) {
    out.error = ErrorText(ctx.get(), kt.code());
    return out;
  }
  krb5_kt_cursor cursor;
  krb5_error_code code = krb5_kt_start_seq_get(ctx.get(), kt.get(), &cursor);
  if (code != 0) {
    out.error = ErrorText(ctx.get(), code);
    return out;
  }
  krb5_keytab_entry entry;
  while ((code = krb5_kt_next_entry(ctx.get(), kt.get(), &entry, &cursor)) == 0) {
    char* unparsed = nullptr;
    if (krb5_unparse_name(ctx.get(), entry.principal, &unparsed) == 0) {
      std::string p(unparsed);
      krb5_free_unparsed_name(ctx.get(), unparsed);
      if (std::find(out.principals.begin(), out.principals.end(), p) == out.principals.end()) {
        out.principals.push_back(std::move(p));
      }
    }
    krb5_free_keytab_entry_contents(ctx.get(), &entry);
  }
  krb5_kt_end_seq_get(ctx.get(), kt.get(), &cursor);
  if (code != KRB5_KT_END) {
    out.error = ErrorText(ctx.get(), code);
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace negotiate
