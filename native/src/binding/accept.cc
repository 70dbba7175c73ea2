#include <gssapi/gssapi_ext.h>

#include <chrono>

#include "../context_table.h"
#include "../replay/replay_cache.h"
#include "binding.h"
#include "identity.h"

namespace negotiate {
namespace {

bool OptionalString(Napi::Object opts, const char* key, std::string* out) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsString()) {
    Napi::TypeError::New(opts.Env(), std::string(key) + " must be a string")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

// The 4th argument of accept: { applicationData?: Uint8Array, required?: boolean }. The bytes are
// borrowed from the JS buffer, which cannot move during this synchronous call.
bool ArgBindings(const Napi::CallbackInfo& info, size_t index, AcceptorBindings* out) {
  if (info.Length() <= index || info[index].IsUndefined()) return true;
  if (!info[index].IsObject()) {
    Napi::TypeError::New(info.Env(), "bindings must be an object").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Object o = info[index].As<Napi::Object>();
  Napi::Value data = o.Get("applicationData");
  if (!data.IsUndefined()) {
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(info.Env(), "bindings.applicationData must be a Uint8Array or Buffer")
          .ThrowAsJavaScriptException();
      return false;
    }
    Napi::Uint8Array arr = data.As<Napi::Uint8Array>();
    // A zero-length view may have no backing store; the pointer only has to be non-null.
    static const uint8_t kEmpty = 0;
    out->application_data = arr.ByteLength() == 0 ? &kEmpty : arr.Data();
    out->length = arr.ByteLength();
  }
  Napi::Value required = o.Get("required");
  out->required = required.IsBoolean() && required.As<Napi::Boolean>().Value();
  return true;
}

// A SID list as one string, SIDs joined by ',' (none contains one): one string through N-API
// instead of a string and an element set per SID, which cost an AD user's handshake ~10% of
// the worker's accept with 50 groups. The `pac` shape splits it.
Napi::String JoinedSids(Napi::Env env, const std::vector<std::string>& sids) {
  size_t n = sids.size();
  for (const std::string& sid : sids) n += sid.size();
  std::string joined;
  joined.reserve(n);
  for (size_t i = 0; i < sids.size(); ++i) {
    if (i > 0) joined += ',';
    joined += sids[i];
  }
  return Napi::String::New(env, joined);
}

// The PAC made by the `pac` shape (src/acceptResults.ts) from its values as arguments.
Napi::Value PacObject(Napi::Env env, const AcceptShapes& shapes, const pac::PacInfo& p) {
  const pac::LogonInfo& l = p.logon;
  auto text = [env](const std::string& s) -> napi_value { return Napi::String::New(env, s); };
  std::vector<napi_value> args = {text(l.user_sid),
                                  text(l.primary_group_sid),
                                  JoinedSids(env, l.group_sids),
                                  JoinedSids(env, l.extra_sids),
                                  JoinedSids(env, l.resource_group_sids),
                                  text(l.logon_name),
                                  text(l.full_name),
                                  text(l.logon_domain),
                                  text(l.logon_server),
                                  text(l.domain_sid),
                                  Napi::Number::New(env, l.user_flags),
                                  Napi::Number::New(env, l.user_account_control)};
  if (p.has_upn_dns) {
    args.push_back(text(p.upn_dns.upn));
    args.push_back(text(p.upn_dns.dns_domain));
    args.push_back(Napi::Number::New(env, p.upn_dns.flags));
    if (p.upn_dns.has_sam_name_and_sid) {
      args.push_back(text(p.upn_dns.sam_name));
      args.push_back(text(p.upn_dns.sid));
    }
  }
  return shapes.pac.Call(args);
}

// The rarer fields of a complete leg (the PAC, the identity options' results, the shared replay
// tag) as one object, or undefined when there are none (a plain Kerberos or NTLM handshake).
Napi::Value CompleteExtras(Napi::Env env, const AcceptShapes& shapes,
                           const AcceptOutcome& outcome) {
  const IdentityOutcome& id = outcome.identity;
  bool any = outcome.has_pac || !outcome.pac_refused.empty() || !outcome.replay_tag.empty() ||
             !id.local_name.empty() || !id.local_name_refused.empty() ||
             !id.service_principal.empty() || !id.delegated_path.empty() ||
             !id.delegation_refused.empty();
  if (!any) return env.Undefined();
  Napi::Object r = Napi::Object::New(env);
  if (outcome.has_pac) r.Set("pac", PacObject(env, shapes, outcome.pac));
  if (!outcome.pac_refused.empty()) r.Set("pacRefused", outcome.pac_refused);
  SetIdentityFields(env, r, id);
  if (!outcome.replay_tag.empty()) {
    Napi::Object replay = Napi::Object::New(env);
    replay.Set("tag", outcome.replay_tag);
    replay.Set("service", outcome.replay_service);
    replay.Set("windowMs", Napi::Number::New(env, double(outcome.replay_window_ms)));
    r.Set("replay", replay);
  }
  return r;
}

}  // namespace

// acquireCredentials({ slot?, keytab?, principal?, ntlm?, replayCache?, memoryReplayCache?,
//                      sharedReplayTag?, requiredFlags?, localName?, servicePrincipal?,
//                      delegationDir?, s4u2proxy? })
//   -> { ok } | error result
// Keeps the credential in this thread under `slot` (default ""), replacing the one there.
Napi::Value JsAcquireCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "options must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  AcceptorConfig config;
  std::string slot;
  if (!OptionalString(opts, "slot", &slot) || !OptionalString(opts, "keytab", &config.keytab) ||
      !OptionalString(opts, "principal", &config.principal) ||
      !OptionalString(opts, "replayCache", &config.replay_cache)) {
    return env.Undefined();
  }
  if (!ReadIdentityOptions(opts, &config.identity)) return env.Undefined();
  Napi::Value ntlm = opts.Get("ntlm");
  config.ntlm = ntlm.IsBoolean() && ntlm.As<Napi::Boolean>().Value();
  Napi::Value memory = opts.Get("memoryReplayCache");
  config.memory_replay_cache = memory.IsBoolean() && memory.As<Napi::Boolean>().Value();
  Napi::Value shared = opts.Get("sharedReplayTag");
  config.shared_replay_tag = shared.IsBoolean() && shared.As<Napi::Boolean>().Value();
  Napi::Value s4u2proxy = opts.Get("s4u2proxy");
  config.s4u2proxy = s4u2proxy.IsBoolean() && s4u2proxy.As<Napi::Boolean>().Value();
  Napi::Value required = opts.Get("requiredFlags");
  if (!required.IsUndefined()) {
    double bits = required.IsNumber() ? required.As<Napi::Number>().DoubleValue() : -1;
    if (!(bits >= 0 && bits <= 0xffff) ||
        bits != static_cast<double>(static_cast<uint32_t>(bits))) {
      Napi::TypeError::New(env, "requiredFlags must be a GSS flag mask")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    config.required_flags = static_cast<OM_uint32>(bits);
  }
  if (config.memory_replay_cache && !ReplayCache::Instance().enabled()) {
    // Refuse rather than accept with no replay protection at all (MIT's cache is off here).
    return ErrorResult(
        env, MakeStatus("ERR_CONFIG", "memoryReplayCache needs configureReplayCache() first"));
  }
  if (config.memory_replay_cache || config.shared_replay_tag) config.replay_cache = "none:";

  AcceptorCredential cred;
  GssStatus st = AcceptorCredential::Acquire(config, &cred);
  if (!st.ok()) return ErrorResult(env, st);
  GetInstanceData(env)->creds[slot] = std::move(cred);
  return OkResult(env);
}

// setAcceptShapes({ continued(output), completed(output, principal, mech, spnego, flagBits,
// lifetime, extras), pac(...its values, SID lists joined) }): the functions that make accept's
// results, once per thread. A result built property by property through N-API cost ~12 µs per
// handshake (perf of the workers); a JS function makes the same object as a literal, in one call.
Napi::Value JsSetAcceptShapes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "setAcceptShapes needs { continued, completed, pac }")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value continued = o.Get("continued");
  Napi::Value completed = o.Get("completed");
  Napi::Value pac = o.Get("pac");
  if (!continued.IsFunction() || !completed.IsFunction() || !pac.IsFunction()) {
    Napi::TypeError::New(env, "continued, completed and pac must be functions")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  AcceptShapes& shapes = GetInstanceData(env)->accept_shapes;
  shapes.continued = Napi::Persistent(continued.As<Napi::Function>());
  shapes.completed = Napi::Persistent(completed.As<Napi::Function>());
  shapes.pac = Napi::Persistent(pac.As<Napi::Function>());
  return env.Undefined();
}

// accept(connectionId, token, slot?, bindings?) -> (slot: the acceptor credential to use, default
// ""; bindings: { applicationData?, required? }, the TLS channel's, see AcceptorBindings)
//   { ok: true, status: 'continue', output }
//   { ok: true, status: 'complete', output, principal, mech, spnego, flags, lifetime, pac?,
//     pacRefused?, localName?, localNameRefused?, servicePrincipal?, delegated?,
//     delegationRefused?, replay?: { tag, service, windowMs } }
//   { ok: false, code, major, minor, message, output? }
Napi::Value JsAccept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t id = 0;
  const uint8_t* token = nullptr;
  size_t token_len = 0;
  if (!ArgConnectionId(info, 0, &id) || !ArgBytes(info, 1, "token", &token, &token_len)) {
    return env.Undefined();
  }
  std::string slot;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsString()) {
      Napi::TypeError::New(env, "slot must be a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    slot = info[2].As<Napi::String>().Utf8Value();
  }
  AcceptorBindings bindings;
  if (!ArgBindings(info, 3, &bindings)) return env.Undefined();
  InstanceData* data = GetInstanceData(env);
  const AcceptShapes* shapes = &data->accept_shapes;
  if (shapes->continued.IsEmpty() || shapes->completed.IsEmpty() || shapes->pac.IsEmpty()) {
    Napi::TypeError::New(
        env, "setAcceptShapes was not called in this thread (load the addon with loadNative)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto found = data->creds.find(slot);
  if (found == data->creds.end() || !found->second.valid()) {
    return ErrorResult(env, MakeStatus("ERR_NO_CREDENTIALS",
                                       "acceptor credentials were not acquired in this thread" +
                                           (slot.empty() ? std::string() : " for " + slot)));
  }
  const AcceptorCredential& cred = found->second;
  if (token_len == 0) {
    return ErrorResult(env, MakeStatus("ERR_GSS_DEFECTIVE_TOKEN", "accept: empty token"));
  }

  ContextTable& table = ContextTable::Instance();
  CheckedOut co;
  GssStatus st = table.CheckOut(id, ContextTable::Want::kHandshake, &co);
  if (!st.ok()) return ErrorResult(env, st);
  if (co.is_new) co.spnego = IsSpnegoInitialToken(token, token_len);
  bool spnego = co.spnego;

  // The token is read in place: this call is synchronous, so the JS buffer cannot move or be
  // collected while GSSAPI reads it.
  AcceptOutcome outcome = AcceptStep(cred, &co.ctx, token, token_len, bindings);
  switch (outcome.kind) {
    case AcceptOutcome::Kind::kContinue: {
      table.CheckIn(std::move(co), false, Mech::kUnknown);
      return shapes->continued.Call({ToBuffer(env, outcome.output)});
    }
    case AcceptOutcome::Kind::kComplete: {
      table.CheckIn(std::move(co), true, outcome.mech);
      Napi::Value lifetime = outcome.lifetime_seconds == GSS_C_INDEFINITE
                                 ? env.Null()
                                 : Napi::Number::New(env, outcome.lifetime_seconds);
      return shapes->completed.Call(
          {ToBuffer(env, outcome.output), Napi::String::New(env, outcome.principal),
           Napi::String::New(env, MechName(outcome.mech)), Napi::Boolean::New(env, spnego),
           Napi::Number::New(env, outcome.flags), lifetime, CompleteExtras(env, *shapes, outcome)});
    }
    case AcceptOutcome::Kind::kError:
    default: {
      table.Fail(std::move(co));
      Napi::Value r = ErrorResult(env, outcome.status);
      if (!outcome.output.empty()) {
        r.As<Napi::Object>().Set("output", ToBuffer(env, outcome.output));
      }
      return r;
    }
  }
}

}  // namespace negotiate
