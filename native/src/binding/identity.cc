#include "identity.h"

#include <string>

namespace negotiate {
namespace {

bool OptionalBool(Napi::Object opts, const char* key, bool* out) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsBoolean()) {
    Napi::TypeError::New(opts.Env(), std::string(key) + " must be a boolean")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

}  // namespace

bool ReadIdentityOptions(Napi::Object opts, IdentityOptions* out) {
  if (!OptionalBool(opts, "localName", &out->local_name) ||
      !OptionalBool(opts, "servicePrincipal", &out->service_principal)) {
    return false;
  }
  Napi::Value dir = opts.Get("delegationDir");
  if (dir.IsUndefined()) return true;
  // The TypeScript layer checked the directory (ours, not writable by others); here only that
  // it is an absolute path, so a file is never created relative to the working directory.
  std::string path = dir.IsString() ? dir.As<Napi::String>().Utf8Value() : std::string();
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos) {
    Napi::TypeError::New(opts.Env(), "delegationDir must be an absolute path")
        .ThrowAsJavaScriptException();
    return false;
  }
  out->delegation_dir = path;
  return true;
}

void SetIdentityFields(Napi::Env env, Napi::Object result, const IdentityOutcome& identity) {
  if (!identity.local_name.empty()) result.Set("localName", identity.local_name);
  if (!identity.local_name_refused.empty()) {
    result.Set("localNameRefused", identity.local_name_refused);
  }
  if (!identity.service_principal.empty()) {
    result.Set("servicePrincipal", identity.service_principal);
  }
  if (!identity.delegated_path.empty()) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("path", identity.delegated_path);
    if (identity.delegated_lifetime == GSS_C_INDEFINITE) {
      d.Set("lifetime", env.Null());
    } else {
      d.Set("lifetime", Napi::Number::New(env, identity.delegated_lifetime));
    }
    d.Set("kind",
          identity.delegated_kind == DelegationKind::kConstrained ? "constrained" : "forwarded");
    result.Set("delegated", d);
  }
  if (!identity.delegation_refused.empty()) {
    result.Set("delegationRefused", identity.delegation_refused);
  }
}

}  // namespace negotiate
