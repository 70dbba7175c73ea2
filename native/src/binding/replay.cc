#include "../krb5/clock_skew.h"
#include "../replay/replay_cache.h"
#include "binding.h"

namespace negotiate {

// configureReplayCache({ capacity, windowMs? }) -> { windowMs }
// windowMs defaults to twice krb5's clock skew (see replay_cache.h for why twice).
Napi::Value JsConfigureReplayCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "options must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  Napi::Value capacity = opts.Get("capacity");
  Napi::Value window = opts.Get("windowMs");
  if (!capacity.IsNumber() || capacity.As<Napi::Number>().DoubleValue() < 1 ||
      (!window.IsUndefined() && (!window.IsNumber() || window.As<Napi::Number>().DoubleValue() < 1))) {
    Napi::TypeError::New(env, "capacity (and windowMs, if given) must be positive numbers")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint64_t window_ms = window.IsUndefined()
                           ? uint64_t{2} * ConfiguredClockSkewSeconds() * 1000
                           : static_cast<uint64_t>(window.As<Napi::Number>().Int64Value());
  ReplayCache::Instance().Configure(window_ms,
                                    static_cast<size_t>(capacity.As<Napi::Number>().Int64Value()));
  Napi::Object r = Napi::Object::New(env);
  r.Set("windowMs", Napi::Number::New(env, static_cast<double>(window_ms)));
  return r;
}

// replayStats() -> { enabled, entries, capacity, windowMs, recorded, replays, refusedFull }
Napi::Value JsReplayStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReplayStats s = ReplayCache::Instance().Stats();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, double(v))); };
  o.Set("enabled", s.enabled);
  set("entries", s.entries);
  set("capacity", s.capacity);
  set("windowMs", s.window_ms);
  set("recorded", s.recorded);
  set("replays", s.replays);
  set("refusedFull", s.refused_full);
  return o;
}

}  // namespace negotiate
