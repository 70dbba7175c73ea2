// Module entry. The addon is loaded once per JS environment (the main thread and each Piscina
// worker); each gets its own InstanceData (its acceptor credential) while the ContextTable is
// shared by the whole process.
#include <krb5/krb5.h>
#include <napi.h>

#include <mutex>

#include "binding/binding.h"

namespace negotiate {
namespace {

// MIT builds a krb5 context inside many GSS calls; the parsed krb5.conf profile stays cached
// only while some context holds it open. One context kept for the life of the process saves
// re-reading krb5.conf and rescanning plugin directories on every accept.
void KeepProfileCached() {
  static std::once_flag once;
  std::call_once(once, [] {
    krb5_context ctx = nullptr;
    if (krb5_init_context(&ctx) != 0) ctx = nullptr;
    // Deliberately never freed.
  });
}

}  // namespace
}  // namespace negotiate

static Napi::Object InitNegotiate(Napi::Env env, Napi::Object exports) {
  using namespace negotiate;
  KeepProfileCached();
  env.SetInstanceData(new InstanceData());
  exports.Set("acquireCredentials", Napi::Function::New(env, JsAcquireCredentials));
  exports.Set("accept", Napi::Function::New(env, JsAccept));
  exports.Set("setAcceptShapes", Napi::Function::New(env, JsSetAcceptShapes));
  exports.Set("wrap", Napi::Function::New(env, JsWrap));
  exports.Set("unwrap", Napi::Function::New(env, JsUnwrap));
  exports.Set("getMic", Napi::Function::New(env, JsGetMic));
  exports.Set("verifyMic", Napi::Function::New(env, JsVerifyMic));
  exports.Set("encryptMessage", Napi::Function::New(env, JsEncryptMessage));
  exports.Set("configureTable", Napi::Function::New(env, JsConfigureTable));
  exports.Set("release", Napi::Function::New(env, JsRelease));
  exports.Set("releaseAll", Napi::Function::New(env, JsReleaseAll));
  exports.Set("deletePending", Napi::Function::New(env, JsDeletePending));
  exports.Set("sweep", Napi::Function::New(env, JsSweep));
  exports.Set("stats", Napi::Function::New(env, JsStats));
  exports.Set("listKeytab", Napi::Function::New(env, JsListKeytab));
  exports.Set("snapshotKeytab", Napi::Function::New(env, JsSnapshotKeytab));
  exports.Set("dropKeytabSnapshot", Napi::Function::New(env, JsDropKeytabSnapshot));
  exports.Set("configureReplayCache", Napi::Function::New(env, JsConfigureReplayCache));
  exports.Set("replayStats", Napi::Function::New(env, JsReplayStats));
  exports.Set("impersonate", Napi::Function::New(env, JsImpersonate));
  exports.Set("checkPassword", Napi::Function::New(env, JsCheckPassword));
  exports.Set("handoffOpen", Napi::Function::New(env, JsHandoffOpen));
  exports.Set("handoffSubmit", Napi::Function::New(env, JsHandoffSubmit));
  exports.Set("handoffAdmit", Napi::Function::New(env, JsHandoffAdmit));
  exports.Set("handoffTake", Napi::Function::New(env, JsHandoffTake));
  exports.Set("handoffFinish", Napi::Function::New(env, JsHandoffFinish));
  exports.Set("handoffDrain", Napi::Function::New(env, JsHandoffDrain));
  exports.Set("handoffCancel", Napi::Function::New(env, JsHandoffCancel));
  exports.Set("handoffHolder", Napi::Function::New(env, JsHandoffHolder));
  exports.Set("handoffEvict", Napi::Function::New(env, JsHandoffEvict));
  exports.Set("handoffClose", Napi::Function::New(env, JsHandoffClose));
  exports.Set("handoffDispose", Napi::Function::New(env, JsHandoffDispose));
  exports.Set("handoffWaiting", Napi::Function::New(env, JsHandoffWaiting));
  return exports;
}

NODE_API_MODULE(negotiate, InitNegotiate)
