#include "../krb5/clock_skew.h"
#include "../replay/replay_cache.h"
#include "binding.h"

namespace negotiate {
namespace {

// A positive whole number from `opts[key]`, or `fallback` when absent. False (with a JS
// TypeError thrown) when present but not a positive whole number.
bool OptionalCount(Napi::Object opts, const char* key, uint64_t fallback, uint64_t* out) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) {
    *out = fallback;
    return true;
  }
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
  if (!(d >= 1 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    Napi::TypeError::New(opts.Env(), std::string(key) + " must be a positive whole number")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

}  // namespace

// configureReplayCache({ capacity, windowMs?, principalQuota?, journal? })
//   -> { ok: true, windowMs, principalQuota, journalLoaded } | { ok: false, code, message }
// windowMs defaults to twice krb5's clock skew (see replay_cache.h for why twice);
// principalQuota to a quarter of the capacity; journal (a directory) to none.
Napi::Value JsConfigureReplayCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "options must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  ReplayCacheConfig config;
  uint64_t capacity = 0, window_ms = 0, quota = 0;
  if (!OptionalCount(opts, "capacity", 0, &capacity) ||
      !OptionalCount(opts, "windowMs", uint64_t{2} * ConfiguredClockSkewSeconds() * 1000,
                     &window_ms) ||
      !OptionalCount(opts, "principalQuota", 0, &quota)) {
    return env.Undefined();
  }
  if (capacity == 0) {
    Napi::TypeError::New(env, "capacity is required").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Value journal = opts.Get("journal");
  if (!journal.IsUndefined()) {
    if (!journal.IsString() || journal.As<Napi::String>().Utf8Value().empty()) {
      Napi::TypeError::New(env, "journal must be a directory path").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    config.journal_dir = journal.As<Napi::String>().Utf8Value();
  }
  config.capacity = static_cast<size_t>(capacity);
  config.window_ms = window_ms;
  config.principal_quota = static_cast<size_t>(quota);
  std::string error;
  if (!ReplayCache::Instance().Configure(config, &error)) {
    return ErrorResult(env, MakeStatus("ERR_CONFIG", error));
  }
  ReplayStats s = ReplayCache::Instance().Stats();
  Napi::Object r = OkResult(env);
  r.Set("journalLoaded", Napi::Number::New(env, static_cast<double>(s.journal_loaded)));
  r.Set("windowMs", Napi::Number::New(env, static_cast<double>(s.window_ms)));
  r.Set("principalQuota", Napi::Number::New(env, static_cast<double>(s.principal_quota)));
  return r;
}

// replayStats() -> { enabled, entries, capacity, principalQuota, windowMs, recorded, replays,
//                    refusedFull, refusedQuota, generations, bytes, journal, journalLoaded,
//                    journalFiles, refusedJournal }
Napi::Value JsReplayStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReplayStats s = ReplayCache::Instance().Stats();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, double(v))); };
  o.Set("enabled", s.enabled);
  set("entries", s.entries);
  set("capacity", s.capacity);
  set("principalQuota", s.principal_quota);
  set("windowMs", s.window_ms);
  set("recorded", s.recorded);
  set("replays", s.replays);
  set("refusedFull", s.refused_full);
  set("refusedQuota", s.refused_quota);
  set("generations", s.generations);
  set("bytes", s.bytes);
  o.Set("journal", s.journal);
  set("journalLoaded", s.journal_loaded);
  set("journalFiles", s.journal_files);
  set("refusedJournal", s.refused_journal);
  return o;
}

}  // namespace negotiate
