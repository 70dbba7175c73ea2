#include <cstring>

#include "../basic/password_check.h"
#include "binding.h"

namespace negotiate {
namespace {

bool OptionalString(Napi::Object opts, const char* key, std::string* out) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().find('\0') != std::string::npos) {
    Napi::TypeError::New(opts.Env(), std::string(key) + " must be a string without NUL")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

}  // namespace

// checkPassword({ user, password: Buffer, keytab?, server? }) ->
//   { ok: true, principal, localName?, defaultRealm?, endTime } | { ok: false, code, major, minor,
//   message }
// Blocks on the KDC (AS exchange, then a TGS exchange to verify): workers only. The password
// buffer is zeroed before this returns, whatever the outcome.
Napi::Value JsCheckPassword(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "options must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  Napi::Value user = opts.Get("user");
  Napi::Value password = opts.Get("password");
  if (!password.IsTypedArray() ||
      password.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "password must be a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array secret = password.As<Napi::Uint8Array>();
  PasswordCheckRequest request;
  request.password = secret.Data();
  request.password_size = secret.ByteLength();
  bool args_ok = user.IsString() && !user.As<Napi::String>().Utf8Value().empty() &&
                 user.As<Napi::String>().Utf8Value().find('\0') == std::string::npos;
  if (!args_ok) {
    Napi::TypeError::New(env, "user must be a non-empty string without NUL")
        .ThrowAsJavaScriptException();
  } else {
    request.user = user.As<Napi::String>().Utf8Value();
    args_ok = OptionalString(opts, "keytab", &request.keytab) &&
              OptionalString(opts, "server", &request.server);
  }
  CheckedUser checked;
  GssStatus st;
  if (args_ok) st = CheckPassword(request, &checked);
  std::memset(secret.Data(), 0, secret.ByteLength());
  if (!args_ok) return env.Undefined();
  if (!st.ok()) return ErrorResult(env, st);
  Napi::Object r = OkResult(env);
  r.Set("principal", checked.principal);
  if (!checked.local_name.empty()) r.Set("localName", checked.local_name);
  if (!checked.default_realm.empty()) r.Set("defaultRealm", checked.default_realm);
  r.Set("endTime", Napi::Number::New(env, static_cast<double>(checked.end_time)));
  return r;
}

}  // namespace negotiate
