// The N-API edge: argument checks and result objects. Results are plain objects so they survive
// postMessage between a Piscina worker and the main thread unchanged; failures are returned as
// { ok: false, code, major, minor, message } rather than thrown. Only misuse of the API itself
// (a wrong argument type) throws a TypeError.
#ifndef NEGOTIATE_BINDING_BINDING_H_
#define NEGOTIATE_BINDING_BINDING_H_

#include <napi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../gss/acceptor.h"
#include "../gss/status.h"

namespace negotiate {

// The JS functions that make accept's results (setAcceptShapes, called by loadNative).
struct AcceptShapes {
  Napi::FunctionReference continued;
  Napi::FunctionReference completed;
  Napi::FunctionReference pac;
};

// Per JS environment (main thread or one worker thread): its own acceptor credentials, one per
// acceptor slot ("" is the default; a front end pinned to its own service name has its own), and
// the functions its accept results are made with.
struct InstanceData {
  std::map<std::string, AcceptorCredential> creds;
  AcceptShapes accept_shapes;
};

InstanceData* GetInstanceData(Napi::Env env);

// Argument helpers: on failure they throw a TypeError naming the argument and return false.
bool ArgConnectionId(const Napi::CallbackInfo& info, size_t index, uint64_t* id);
bool ArgBytes(const Napi::CallbackInfo& info, size_t index, const char* name, const uint8_t** data,
              size_t* size);

Napi::Value ErrorResult(Napi::Env env, const GssStatus& status);
Napi::Object OkResult(Napi::Env env);
Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const std::vector<uint8_t>& bytes);

Napi::Value JsAcquireCredentials(const Napi::CallbackInfo& info);
Napi::Value JsAccept(const Napi::CallbackInfo& info);
Napi::Value JsSetAcceptShapes(const Napi::CallbackInfo& info);
Napi::Value JsWrap(const Napi::CallbackInfo& info);
Napi::Value JsUnwrap(const Napi::CallbackInfo& info);
Napi::Value JsGetMic(const Napi::CallbackInfo& info);
Napi::Value JsVerifyMic(const Napi::CallbackInfo& info);
Napi::Value JsEncryptMessage(const Napi::CallbackInfo& info);
Napi::Value JsConfigureTable(const Napi::CallbackInfo& info);
Napi::Value JsRelease(const Napi::CallbackInfo& info);
Napi::Value JsReleaseAll(const Napi::CallbackInfo& info);
Napi::Value JsDeletePending(const Napi::CallbackInfo& info);
Napi::Value JsSweep(const Napi::CallbackInfo& info);
Napi::Value JsStats(const Napi::CallbackInfo& info);
Napi::Value JsListKeytab(const Napi::CallbackInfo& info);
Napi::Value JsSnapshotKeytab(const Napi::CallbackInfo& info);
Napi::Value JsDropKeytabSnapshot(const Napi::CallbackInfo& info);
Napi::Value JsConfigureReplayCache(const Napi::CallbackInfo& info);
Napi::Value JsReplayStats(const Napi::CallbackInfo& info);
Napi::Value JsImpersonate(const Napi::CallbackInfo& info);
Napi::Value JsCheckPassword(const Napi::CallbackInfo& info);
Napi::Value JsHandoffOpen(const Napi::CallbackInfo& info);
Napi::Value JsHandoffSubmit(const Napi::CallbackInfo& info);
Napi::Value JsHandoffAdmit(const Napi::CallbackInfo& info);
Napi::Value JsHandoffTake(const Napi::CallbackInfo& info);
Napi::Value JsHandoffFinish(const Napi::CallbackInfo& info);
Napi::Value JsHandoffDrain(const Napi::CallbackInfo& info);
Napi::Value JsHandoffCancel(const Napi::CallbackInfo& info);
Napi::Value JsHandoffHolder(const Napi::CallbackInfo& info);
Napi::Value JsHandoffEvict(const Napi::CallbackInfo& info);
Napi::Value JsHandoffClose(const Napi::CallbackInfo& info);
Napi::Value JsHandoffDispose(const Napi::CallbackInfo& info);
Napi::Value JsHandoffWaiting(const Napi::CallbackInfo& info);

}  // namespace negotiate

#endif  // NEGOTIATE_BINDING_BINDING_H_
