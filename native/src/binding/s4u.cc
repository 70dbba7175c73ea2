#include "../s4u/impersonate.h"
#include "binding.h"

namespace negotiate {
namespace {

bool StringField(Napi::Object opts, const char* key, bool required, std::string* out) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined() && !required) return true;
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().find('\0') != std::string::npos ||
      (required && v.As<Napi::String>().Utf8Value().empty())) {
    Napi::TypeError::New(opts.Env(), std::string(key) + " must be a non-empty string")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

}  // namespace

// impersonate({ keytab?, service, user, target, dir }) ->
//   { ok: true, path, client, target, lifetime } | { ok: false, code, major, minor, message }
// Blocks on the KDC (three exchanges): workers only.
Napi::Value JsImpersonate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "options must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  ImpersonateRequest request;
  if (!StringField(opts, "keytab", false, &request.keytab) ||
      !StringField(opts, "service", true, &request.service) ||
      !StringField(opts, "user", true, &request.user) ||
      !StringField(opts, "target", true, &request.target) ||
      !StringField(opts, "dir", true, &request.dir)) {
    return env.Undefined();
  }
  if (request.dir[0] != '/') {
    Napi::TypeError::New(env, "dir must be an absolute path").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ImpersonatedCredential out;
  GssStatus st = ImpersonateToCcache(request, &out);
  if (!st.ok()) return ErrorResult(env, st);
  Napi::Object r = OkResult(env);
  r.Set("path", out.path);
  r.Set("client", out.client);
  r.Set("target", out.target);
  r.Set("lifetime", Napi::Number::New(env, out.lifetime_seconds));
  return r;
}

}  // namespace negotiate
