#include "../krb5/keytab.h"

#include "../krb5/memory_keytab.h"
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

// snapshotKeytab(source, memoryName) -> { ok: true, entries } | { ok: false, code, ..., message }
Napi::Value JsSnapshotKeytab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    Napi::TypeError::New(env, "source and memoryName must be strings").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[1].As<Napi::String>().Utf8Value();
  if (name.rfind("MEMORY:", 0) != 0) {
    Napi::TypeError::New(env, "memoryName must start with MEMORY:").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  KeytabSnapshot snap = SnapshotKeytab(info[0].As<Napi::String>().Utf8Value(), name);
  if (!snap.ok) return ErrorResult(env, MakeStatus("ERR_KEYTAB_UNREADABLE", snap.error));
  Napi::Object r = OkResult(env);
  r.Set("entries", Napi::Number::New(env, static_cast<double>(snap.entries)));
  return r;
}

// dropKeytabSnapshot(memoryName)
Napi::Value JsDropKeytabSnapshot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "memoryName must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  DropKeytabSnapshot(info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

}  // namespace negotiate
