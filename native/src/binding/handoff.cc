// The N-API side of the pool's hand-off (handoff/call_queue.h): queues live in a process-wide
// registry so the main thread and every worker thread reach the same one by id. Results reach
// the main thread through one ThreadSafeFunction per queue; a wake-up is sent only for the
// first result since the main thread's last drain, and that drain takes every result.
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "../handoff/call_queue.h"
#include "binding.h"

namespace negotiate {
namespace {

struct Handoff {
  explicit Handoff(size_t workers) : queue(workers) {}
  CallQueue queue;
  // Guards `wake`: workers may still finish calls while the main thread closes the queue.
  std::mutex wake_mu;
  bool wake_open = false;
  Napi::ThreadSafeFunction wake;
};

std::mutex registry_mu;
std::unordered_map<uint32_t, std::shared_ptr<Handoff>> registry;
uint32_t next_id = 1;

std::shared_ptr<Handoff> Find(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), "handoff id must be a number").ThrowAsJavaScriptException();
    return nullptr;
  }
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  std::lock_guard<std::mutex> lock(registry_mu);
  auto it = registry.find(id);
  if (it == registry.end()) {
    Napi::TypeError::New(info.Env(), "no such handoff queue").ThrowAsJavaScriptException();
    return nullptr;
  }
  return it->second;
}

bool ArgNumber(const Napi::CallbackInfo& info, size_t index, const char* name, double* out) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(name) + " must be a number")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = info[index].As<Napi::Number>().DoubleValue();
  return true;
}

// A batch crosses as one byte buffer of frames, [u32le seq | u32le length | bytes] each, not an
// array of values: one JS object per batch instead of two per call, and no N-API call per call
// (a typed array per call and the Gets to read it back cost more than the copy they carry).
// Sequence numbers are 32 bits and wrap: a call never waits for four billion others.
constexpr size_t kFrameHeader = 8;

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

size_t FramesSize(const std::vector<QueuedCall>& calls) {
  size_t total = 0;
  for (const QueuedCall& c : calls) total += kFrameHeader + c.size;
  return total;
}

// Writes `calls` as frames at `at` (room for FramesSize(calls)).
void PutFrames(const std::vector<QueuedCall>& calls, uint8_t* at) {
  for (const QueuedCall& c : calls) {
    PutU32(at, static_cast<uint32_t>(c.seq));
    PutU32(at + 4, static_cast<uint32_t>(c.size));
    if (c.size > 0) std::memcpy(at + kFrameHeader, c.data(), c.size);
    at += kFrameHeader + c.size;
  }
}

Napi::Uint8Array CallsToJs(Napi::Env env, const std::vector<QueuedCall>& calls) {
  size_t total = FramesSize(calls);
  Napi::ArrayBuffer backing = Napi::ArrayBuffer::New(env, total);
  PutFrames(calls, static_cast<uint8_t*>(backing.Data()));
  return Napi::Uint8Array::New(env, total, backing, 0);
}

Napi::Array SeqsToJs(Napi::Env env, const std::vector<uint64_t>& seqs) {
  Napi::Array out = Napi::Array::New(env, seqs.size());
  for (uint32_t i = 0; i < seqs.size(); i++) {
    out.Set(i, Napi::Number::New(env, static_cast<double>(seqs[i])));
  }
  return out;
}

bool IsUint8Array(const Napi::CallbackInfo& info, size_t index) {
  return info.Length() > index && info[index].IsTypedArray() &&
         info[index].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

// Reads a batch of frames into calls: the batch is copied once (the one copy a call's bytes
// get on their way to a worker) and each call is a span of that copy. Throws a TypeError and
// returns false on a malformed batch.
bool ArgCalls(const Napi::CallbackInfo& info, size_t index, std::vector<QueuedCall>* out) {
  Napi::Env env = info.Env();
  if (!IsUint8Array(info, index)) {
    Napi::TypeError::New(env, "calls must be a Uint8Array of frames").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array frames = info[index].As<Napi::Uint8Array>();
  auto batch = std::make_shared<const std::vector<uint8_t>>(frames.Data(),
                                                            frames.Data() + frames.ByteLength());
  const uint8_t* base = batch->data();
  size_t at = 0;
  size_t left = batch->size();
  while (left > 0) {
    if (left < kFrameHeader || left - kFrameHeader < GetU32(base + at + 4)) {
      out->clear();
      Napi::TypeError::New(env, "calls: truncated frame").ThrowAsJavaScriptException();
      return false;
    }
    uint32_t seq = GetU32(base + at);
    size_t size = GetU32(base + at + 4);
    out->push_back(QueuedCall{seq, batch, at + kFrameHeader, size});
    at += kFrameHeader + size;
    left -= kFrameHeader + size;
  }
  return true;
}

}  // namespace

// handoffOpen(workers, onResults) -> id. onResults(frames) runs on this thread.
// The wake-up does not keep the event loop alive: the pool's Piscina tasks do while they run.
Napi::Value JsHandoffOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double workers = 0;
  if (!ArgNumber(info, 0, "workers", &workers)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "onResults must be a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto h = std::make_shared<Handoff>(workers < 1 ? 1 : static_cast<size_t>(workers));
  std::weak_ptr<Handoff> weak = h;
  h->wake = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "negotiate:handoff", 0,
                                          1, [weak](Napi::Env) {
                                            if (auto alive = weak.lock()) {
                                              std::lock_guard<std::mutex> lock(alive->wake_mu);
                                              alive->wake_open = false;
                                            }
                                          });
  h->wake.Unref(env);
  h->wake_open = true;
  std::lock_guard<std::mutex> lock(registry_mu);
  uint32_t id = next_id++;
  registry[id] = h;
  return Napi::Number::New(env, id);
}

// handoffSubmit(id, frames) -> false when the queue is closed
Napi::Value JsHandoffSubmit(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  std::vector<QueuedCall> calls;
  if (!h || !ArgCalls(info, 1, &calls)) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), h->queue.Submit(std::move(calls)));
}

// handoffAdmit(id, worker): `worker` may take calls (until evicted or the queue closes).
Napi::Value JsHandoffAdmit(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  double worker = 0;
  if (!h || !ArgNumber(info, 1, "worker", &worker)) return info.Env().Undefined();
  h->queue.Admit(static_cast<uint32_t>(worker));
  return info.Env().Undefined();
}

// handoffTake(id, worker, timeoutMs, into) -> the frames' length in `into` (0: none came in
// time), the frames in a new Uint8Array when they do not fit `into`, or null: stop.
// Blocks this (worker) thread; the queue's Close or Evict wakes it. Writing into the worker's
// own buffer spares a new ArrayBuffer (a backing store, a sweep) per batch.
Napi::Value JsHandoffTake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Find(info);
  double worker = 0;
  double timeout_ms = 0;
  if (!h || !ArgNumber(info, 1, "worker", &worker) ||
      !ArgNumber(info, 2, "timeoutMs", &timeout_ms)) {
    return env.Undefined();
  }
  if (!IsUint8Array(info, 3)) {
    Napi::TypeError::New(env, "into must be a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<QueuedCall> calls;
  CallQueue::TakeStatus status =
      h->queue.Take(static_cast<uint32_t>(worker),
                    std::chrono::milliseconds(static_cast<int64_t>(timeout_ms)), &calls);
  if (status == CallQueue::TakeStatus::kStopped) return env.Null();
  size_t total = FramesSize(calls);
  Napi::Uint8Array into = info[3].As<Napi::Uint8Array>();
  if (total > into.ByteLength()) return CallsToJs(env, calls);
  PutFrames(calls, into.Data());
  return Napi::Number::New(env, static_cast<double>(total));
}

// handoffFinish(id, worker, frames): stores results; wakes the main thread once.
Napi::Value JsHandoffFinish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Find(info);
  double worker = 0;
  if (!h || !ArgNumber(info, 1, "worker", &worker)) return env.Undefined();
  std::vector<QueuedCall> results;
  if (!ArgCalls(info, 2, &results)) return env.Undefined();
  bool wake = h->queue.Finish(static_cast<uint32_t>(worker), std::move(results));
  if (wake) {
    std::lock_guard<std::mutex> lock(h->wake_mu);
    if (h->wake_open) {
      std::weak_ptr<Handoff> weak = h;
      h->wake.NonBlockingCall([weak](Napi::Env env, Napi::Function on_results) {
        auto alive = weak.lock();
        if (!alive) return;
        std::vector<QueuedCall> done = alive->queue.Drain();
        on_results.Call({CallsToJs(env, done)});
      });
    }
  }
  return env.Undefined();
}

// handoffDrain(id) -> frames: the results waiting now (close, tests).
Napi::Value JsHandoffDrain(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  if (!h) return info.Env().Undefined();
  std::vector<QueuedCall> done = h->queue.Drain();
  return CallsToJs(info.Env(), done);
}

Napi::Value JsHandoffCancel(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  double seq = 0;
  if (!h || !ArgNumber(info, 1, "seq", &seq)) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), h->queue.Cancel(static_cast<uint64_t>(seq)));
}

Napi::Value JsHandoffHolder(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  double seq = 0;
  if (!h || !ArgNumber(info, 1, "seq", &seq)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(),
                           static_cast<double>(h->queue.Holder(static_cast<uint64_t>(seq))));
}

// handoffEvict(id, worker) -> the seqs the worker held (unanswered)
Napi::Value JsHandoffEvict(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  double worker = 0;
  if (!h || !ArgNumber(info, 1, "worker", &worker)) return info.Env().Undefined();
  return SeqsToJs(info.Env(), h->queue.Evict(static_cast<uint32_t>(worker)));
}

// handoffClose(id) -> the seqs no worker took. Calls workers hold still finish and reach the
// main thread, until handoffDispose.
Napi::Value JsHandoffClose(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  if (!h) return info.Env().Undefined();
  return SeqsToJs(info.Env(), h->queue.Close());
}

// handoffDispose(id): releases the wake-up and forgets the queue. Only from the thread that
// opened it; a worker still finishing drops its results (they would have nobody to go to).
Napi::Value JsHandoffDispose(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  if (!h) return info.Env().Undefined();
  h->queue.Close();
  {
    std::lock_guard<std::mutex> lock(h->wake_mu);
    if (h->wake_open) {
      h->wake_open = false;
      h->wake.Release();
    }
  }
  std::lock_guard<std::mutex> lock(registry_mu);
  registry.erase(info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

Napi::Value JsHandoffWaiting(const Napi::CallbackInfo& info) {
  auto h = Find(info);
  if (!h) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(h->queue.waiting()));
}

}  // namespace negotiate
