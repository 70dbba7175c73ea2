#include "../context_table.h"
#include "binding.h"

namespace negotiate {

// configureTable({ maxContexts, handshakeTtlMs })
Napi::Value JsConfigureTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "options must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  Napi::Value max = opts.Get("maxContexts");
  Napi::Value ttl = opts.Get("handshakeTtlMs");
  if (!max.IsNumber() || !ttl.IsNumber() || max.As<Napi::Number>().DoubleValue() < 1 ||
      ttl.As<Napi::Number>().DoubleValue() < 1) {
    Napi::TypeError::New(env, "maxContexts and handshakeTtlMs must be positive numbers")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ContextTable::Instance().Configure(static_cast<size_t>(max.As<Napi::Number>().Int64Value()),
                                     static_cast<uint64_t>(ttl.As<Napi::Number>().Int64Value()));
  return env.Undefined();
}

Napi::Value JsRelease(const Napi::CallbackInfo& info) {
  uint64_t id = 0;
  if (!ArgConnectionId(info, 0, &id)) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), ContextTable::Instance().Release(id));
}

// deletePending(max = all) -> number deleted
Napi::Value JsDeletePending(const Napi::CallbackInfo& info) {
  size_t max = ContextTable::kMaxPendingDeletes;
  if (info.Length() > 0 && info[0].IsNumber() && info[0].As<Napi::Number>().DoubleValue() >= 0) {
    max = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
  }
  return Napi::Number::New(info.Env(),
                           static_cast<double>(ContextTable::Instance().DeletePending(max)));
}

Napi::Value JsReleaseAll(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ContextTable::Instance().ReleaseAll()));
}

Napi::Value JsSweep(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ContextTable::Instance().Sweep()));
}

Napi::Value JsStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ContextCounters c = ContextTable::Instance().Counters();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, double(v))); };
  set("live", c.live);
  set("handshaking", c.handshaking);
  set("established", c.established);
  set("inUse", c.in_use);
  set("created", c.created);
  set("completed", c.completed);
  set("failed", c.failed);
  set("released", c.released);
  set("expired", c.expired);
  set("refusedFull", c.refused_full);
  set("refusedBusy", c.refused_busy);
  set("pendingDelete", c.pending_delete);
  return o;
}

}  // namespace negotiate
