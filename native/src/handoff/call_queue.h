// The hand-off between the thread that owns the sockets and the pool's worker threads, without
// postMessage: calls wait here as bytes, worker threads park in Take on a condition variable,
// and finished results wait here until the main thread drains them all at once. Pure C++ (no
// N-API): the binding (binding/handoff.cc) wakes the main thread at most once per drain.
//
// Worker ids are never reused: a worker is admitted under a new id before it serves, and one
// that dies or stops is evicted (Evict returns the calls it held so their callers can fail);
// its replacement is admitted under another id. Only admitted workers are remembered, so the
// ids of serve tasks that ended leave nothing behind.
#ifndef NEGOTIATE_HANDOFF_CALL_QUEUE_H_
#define NEGOTIATE_HANDOFF_CALL_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace negotiate {

// A call's (or a result's) bytes: a span of the batch buffer it crossed in, which the calls of
// that batch share. One allocation and one copy per batch, not per call; the buffer is freed
// with the last of its calls, on whichever thread that is.
struct QueuedCall {
  uint64_t seq = 0;
  std::shared_ptr<const std::vector<uint8_t>> batch;
  size_t offset = 0;
  size_t size = 0;
  const uint8_t* data() const { return batch->data() + offset; }
};

class CallQueue {
 public:
  // `workers` sizes each Take's share of what waits (see Take).
  explicit CallQueue(size_t workers) : workers_(workers == 0 ? 1 : workers) {}

  // Lets `worker` Take, until it is evicted or the queue closes.
  void Admit(uint32_t worker);

  // Queues calls (one lock, one wake-up per batch); false when the queue is closed.
  bool Submit(std::vector<QueuedCall> calls);

  enum class TakeStatus { kCalls, kTimedOut, kStopped };
  // Parks until calls wait, the timeout passes, or the queue closes / `worker` is evicted or
  // was never admitted (kStopped: the worker returns from its serve loop). Takes its share of what
  // waits (ceil(waiting / workers)) so the other workers find work too, and records them as held by
  // `worker` until Finish.
  TakeStatus Take(uint32_t worker, std::chrono::milliseconds timeout, std::vector<QueuedCall>* out);

  // Stores the results of calls `worker` held (others are dropped: it was evicted meanwhile).
  // True when the main thread must be woken: the first results since its last Drain (later
  // ones ride on the same wake-up).
  bool Finish(uint32_t worker, std::vector<QueuedCall> results);

  // Every finished result, oldest first; re-arms the wake-up.
  std::vector<QueuedCall> Drain();

  // Removes a call nobody has taken yet (its caller gave up); false if a worker holds it or it
  // is gone.
  bool Cancel(uint64_t seq);
  // The worker holding `seq`, or -1 when the call waits or is gone.
  int64_t Holder(uint64_t seq);

  // Stops `worker` (its Take returns kStopped) and returns the calls it held, unanswered: a
  // worker that died or hung. Later Finishes by that worker are dropped.
  std::vector<uint64_t> Evict(uint32_t worker);

  // Stops every worker's Take and returns the calls no worker took. Held calls still finish.
  std::vector<uint64_t> Close();

  size_t waiting();

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  const size_t workers_;
  bool closed_ = false;
  bool wake_armed_ = true;
  std::deque<QueuedCall> waiting_;
  // worker -> the calls it took and has not answered, in the order it took them: Finish finds
  // each result at the front (no allocation per call, as a map node per seq was).
  std::unordered_map<uint32_t, std::vector<uint64_t>> held_;
  std::unordered_set<uint32_t> serving_;  // admitted and not evicted
  std::vector<QueuedCall> finished_;
};

}  // namespace negotiate

#endif  // NEGOTIATE_HANDOFF_CALL_QUEUE_H_
