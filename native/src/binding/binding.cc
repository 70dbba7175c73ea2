#include "binding.h"

#include <cmath>

namespace negotiate {

InstanceData* GetInstanceData(Napi::Env env) { return env.GetInstanceData<InstanceData>(); }

bool ArgConnectionId(const Napi::CallbackInfo& info, size_t index, uint64_t* id) {
  // Connection ids are JS numbers: safe integers, so they round-trip through double exactly.
  if (info.Length() <= index || !info[index].IsNumber()) {
    Napi::TypeError::New(info.Env(), "connectionId must be a non-negative safe integer")
        .ThrowAsJavaScriptException();
    return false;
  }
  double d = info[index].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d) {
    Napi::TypeError::New(info.Env(), "connectionId must be a non-negative safe integer")
        .ThrowAsJavaScriptException();
    return false;
  }
  *id = static_cast<uint64_t>(d);
  return true;
}

bool ArgBytes(const Napi::CallbackInfo& info, size_t index, const char* name, const uint8_t** data,
              size_t* size) {
  if (info.Length() <= index || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(info.Env(), std::string(name) + " must be a Uint8Array or Buffer")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array arr = info[index].As<Napi::Uint8Array>();
  *data = arr.Data();
  *size = arr.ByteLength();
  return true;
}

Napi::Value ErrorResult(Napi::Env env, const GssStatus& status) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", false);
  o.Set("code", status.code);
  o.Set("major", Napi::Number::New(env, status.major));
  o.Set("minor", Napi::Number::New(env, status.minor));
  o.Set("message", status.message);
  return o;
}

Napi::Object OkResult(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", true);
  return o;
}

Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const std::vector<uint8_t>& bytes) {
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

}  // namespace negotiate
