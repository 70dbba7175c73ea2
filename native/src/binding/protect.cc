#include "../gss/protect.h"

#include "../context_table.h"
#include "binding.h"

namespace negotiate {
namespace {

// Runs `op` on the established context of the connection in argument 0, checking it out of
// the table for the duration of the call. A failed protection call does not end the context:
// a bad message is the peer's problem, and the connection decides whether to close.
template <typename Op>
Napi::Value WithEstablished(const Napi::CallbackInfo& info, Op op) {
  Napi::Env env = info.Env();
  uint64_t id = 0;
  if (!ArgConnectionId(info, 0, &id)) return env.Undefined();
  ContextTable& table = ContextTable::Instance();
  CheckedOut co;
  GssStatus st = table.CheckOut(id, ContextTable::Want::kEstablished, &co);
  if (!st.ok()) return ErrorResult(env, st);
  Napi::Value result = op(env, co);
  Mech mech = co.mech;
  table.CheckIn(std::move(co), true, mech);
  return result;
}

}  // namespace

// wrap(connectionId, message, confidential) -> { ok, token, confidential } | error
Napi::Value JsWrap(const Napi::CallbackInfo& info) {
  const uint8_t* msg = nullptr;
  size_t len = 0;
  if (!ArgBytes(info, 1, "message", &msg, &len)) return info.Env().Undefined();
  bool conf = info.Length() > 2 && info[2].ToBoolean().Value();
  return WithEstablished(info, [&](Napi::Env env, CheckedOut& co) -> Napi::Value {
    std::vector<uint8_t> out;
    bool applied = false;
    GssStatus st = Wrap(co.ctx.get(), Bytes{msg, len}, conf, &out, &applied);
    if (!st.ok()) return ErrorResult(env, st);
    Napi::Object r = OkResult(env);
    r.Set("token", ToBuffer(env, out));
    r.Set("confidential", applied);
    return r;
  });
}

// unwrap(connectionId, token) -> { ok, message, confidential } | error
Napi::Value JsUnwrap(const Napi::CallbackInfo& info) {
  const uint8_t* tok = nullptr;
  size_t len = 0;
  if (!ArgBytes(info, 1, "token", &tok, &len)) return info.Env().Undefined();
  return WithEstablished(info, [&](Napi::Env env, CheckedOut& co) -> Napi::Value {
    std::vector<uint8_t> out;
    bool conf = false;
    GssStatus st = Unwrap(co.ctx.get(), Bytes{tok, len}, &out, &conf);
    if (!st.ok()) return ErrorResult(env, st);
    Napi::Object r = OkResult(env);
    r.Set("message", ToBuffer(env, out));
    r.Set("confidential", conf);
    return r;
  });
}

// getMic(connectionId, message) -> { ok, mic } | error
Napi::Value JsGetMic(const Napi::CallbackInfo& info) {
  const uint8_t* msg = nullptr;
  size_t len = 0;
  if (!ArgBytes(info, 1, "message", &msg, &len)) return info.Env().Undefined();
  return WithEstablished(info, [&](Napi::Env env, CheckedOut& co) -> Napi::Value {
    std::vector<uint8_t> out;
    GssStatus st = GetMic(co.ctx.get(), Bytes{msg, len}, &out);
    if (!st.ok()) return ErrorResult(env, st);
    Napi::Object r = OkResult(env);
    r.Set("mic", ToBuffer(env, out));
    return r;
  });
}

// verifyMic(connectionId, message, mic) -> { ok } | error
Napi::Value JsVerifyMic(const Napi::CallbackInfo& info) {
  const uint8_t* msg = nullptr;
  size_t len = 0;
  const uint8_t* mic = nullptr;
  size_t mic_len = 0;
  if (!ArgBytes(info, 1, "message", &msg, &len) || !ArgBytes(info, 2, "mic", &mic, &mic_len)) {
    return info.Env().Undefined();
  }
  return WithEstablished(info, [&](Napi::Env env, CheckedOut& co) -> Napi::Value {
    GssStatus st = VerifyMic(co.ctx.get(), Bytes{msg, len}, Bytes{mic, mic_len});
    if (!st.ok()) return ErrorResult(env, st);
    return OkResult(env);
  });
}

// encryptMessage(connectionId, message) -> { ok, trailer, ciphertext } | error
Napi::Value JsEncryptMessage(const Napi::CallbackInfo& info) {
  const uint8_t* msg = nullptr;
  size_t len = 0;
  if (!ArgBytes(info, 1, "message", &msg, &len)) return info.Env().Undefined();
  return WithEstablished(info, [&](Napi::Env env, CheckedOut& co) -> Napi::Value {
    std::vector<uint8_t> trailer;
    std::vector<uint8_t> ciphertext;
    GssStatus st = EncryptMessage(co.ctx.get(), co.mech, Bytes{msg, len}, &trailer, &ciphertext);
    if (!st.ok()) return ErrorResult(env, st);
    Napi::Object r = OkResult(env);
    r.Set("trailer", ToBuffer(env, trailer));
    r.Set("ciphertext", ToBuffer(env, ciphertext));
    return r;
  });
}

}  // namespace negotiate
