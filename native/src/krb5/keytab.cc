#include "keytab.h"

#include <krb5/krb5.h>

#include <algorithm>

#include "krb5_handles.h"

namespace negotiate {

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
