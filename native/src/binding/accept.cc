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

Napi::Object FlagsObject(Napi::Env env, OM_uint32 f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("mutual", (f & GSS_C_MUTUAL_FLAG) != 0);
  o.Set("replay", (f & GSS_C_REPLAY_FLAG) != 0);
  o.Set("sequence", (f & GSS_C_SEQUENCE_FLAG) != 0);
  o.Set("integrity", (f & GSS_C_INTEG_FLAG) != 0);
  o.Set("confidentiality", (f & GSS_C_CONF_FLAG) != 0);
  o.Set("delegation", (f & GSS_C_DELEG_FLAG) != 0);
  o.Set("anonymous", (f & GSS_C_ANON_FLAG) != 0);
  o.Set("channelBound", (f & GSS_C_CHANNEL_BOUND_FLAG) != 0);
  o.Set("bits", Napi::Number::New(env, f));
  return o;
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

Napi::Array StringArray(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) a.Set(static_cast<uint32_t>(i), items[i]);
  return a;
}

Napi::Object PacObject(Napi::Env env, const pac::PacInfo& p) {
  Napi::Object o = Napi::Object::New(env);
  const pac::LogonInfo& l = p.logon;
  o.Set("userSid", l.user_sid);
  o.Set("primaryGroupSid", l.primary_group_sid);
  o.Set("groupSids", StringArray(env, l.group_sids));
  o.Set("extraSids", StringArray(env, l.extra_sids));
  o.Set("resourceGroupSids", StringArray(env, l.resource_group_sids));
  o.Set("logonName", l.logon_name);
  o.Set("fullName", l.full_name);
  o.Set("logonDomain", l.logon_domain);
  o.Set("logonServer", l.logon_server);
  o.Set("domainSid", l.domain_sid);
  o.Set("userFlags", Napi::Number::New(env, l.user_flags));
  o.Set("userAccountControl", Napi::Number::New(env, l.user_account_control));
  if (p.has_upn_dns) {
    Napi::Object u = Napi::Object::New(env);
    u.Set("upn", p.upn_dns.upn);
    u.Set("dnsDomain", p.upn_dns.dns_domain);
    u.Set("flags", Napi::Number::New(env, p.upn_dns.flags));
    if (p.upn_dns.has_sam_name_and_sid) {
      u.Set("samName", p.upn_dns.sam_name);
      u.Set("sid", p.upn_dns.sid);
    }
    o.Set("upnDnsInfo", u);
  }
  return o;
}

}  // namespace

// acquireCredentials({ slot?, keytab?, principal?, ntlm?, replayCache?, memoryReplayCache?,
//                      sharedReplayTag?,
//                      requiredFlags?, localName?, servicePrincipal?, delegationDir? })
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
      Napi::Object r = OkResult(env);
      r.Set("status", "continue");
      r.Set("output", ToBuffer(env, outcome.output));
      return r;
    }
    case AcceptOutcome::Kind::kComplete: {
      table.CheckIn(std::move(co), true, outcome.mech);
      Napi::Object r = OkResult(env);
      r.Set("status", "complete");
      r.Set("output", ToBuffer(env, outcome.output));
      r.Set("principal", outcome.principal);
      r.Set("mech", MechName(outcome.mech));
      r.Set("spnego", spnego);
      r.Set("flags", FlagsObject(env, outcome.flags));
      if (outcome.lifetime_seconds == GSS_C_INDEFINITE) {
        r.Set("lifetime", env.Null());
      } else {
        r.Set("lifetime", Napi::Number::New(env, outcome.lifetime_seconds));
      }
      if (outcome.has_pac) r.Set("pac", PacObject(env, outcome.pac));
      if (!outcome.pac_refused.empty()) r.Set("pacRefused", outcome.pac_refused);
      SetIdentityFields(env, r, outcome.identity);
      if (!outcome.replay_tag.empty()) {
        Napi::Object replay = Napi::Object::New(env);
        replay.Set("tag", outcome.replay_tag);
        replay.Set("service", outcome.replay_service);
        replay.Set("windowMs", Napi::Number::New(env, double(outcome.replay_window_ms)));
        r.Set("replay", replay);
      }
      return r;
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
