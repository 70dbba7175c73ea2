#include "../krb5/keytab.h"
#include "binding.h"

namespace negotiate {

// listKeytab(path) -> { ok: true, principals } | { ok: false, code, major, minor, message }
Napi::Value JsListKeytab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "path must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  KeytabListing listing = ListKeytab(info[0].As<Napi::String>().Utf8Value());
  if (!listing.ok) return ErrorResult(env, MakeStatus("ERR_KEYTAB_UNREADABLE", listing.error));
  Napi::Object r = OkResult(env);
  Napi::Array names = Napi::Array::New(env, listing.principals.size());
  for (size_t i = 0; i < listing.principals.size(); ++i) {
    names.Set(static_cast<uint32_t>(i), listing.principals[i]);
  }
  r.Set("principals", names);
  return r;
}

}  // namespace negotiate
