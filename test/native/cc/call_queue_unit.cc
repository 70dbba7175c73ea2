// Unit checks of the pool's hand-off queue (native/src/handoff/call_queue.cc): only admitted
// workers take calls; each takes its share in order; results come back once, from the worker
// that holds the call, in any order; an evicted worker's calls are returned unanswered and its
// later results dropped; calls share their batch's bytes; closing returns what nobody took while
// held calls still finish. Built and run by test/native/callQueueUnit.test.ts.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../../native/src/handoff/call_queue.h"
#include "unit_check.h"

using negotiate::CallQueue;
using negotiate::QueuedCall;

namespace {

using unit::Check;
using Status = CallQueue::TakeStatus;

constexpr std::chrono::milliseconds kNoWait{0};

// A batch of calls with these seqs, each one byte (its seq's low byte), sharing one buffer.
std::vector<QueuedCall> Batch(const std::vector<uint64_t>& seqs) {
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  for (uint64_t s : seqs) bytes->push_back(static_cast<uint8_t>(s));
  std::shared_ptr<const std::vector<uint8_t>> shared = bytes;
  std::vector<QueuedCall> out;
  for (size_t i = 0; i < seqs.size(); i++) out.push_back(QueuedCall{seqs[i], shared, i, 1});
  return out;
}

std::vector<uint64_t> Seqs(const std::vector<QueuedCall>& calls) {
  std::vector<uint64_t> out;
  for (const QueuedCall& c : calls) out.push_back(c.seq);
  return out;
}

std::string Show(const std::vector<uint64_t>& seqs) {
  std::string s = "[";
  for (uint64_t v : seqs) s += std::to_string(v) + ",";
  return s + "]";
}

void AdmissionAndShares() {
  CallQueue q(2);
  std::vector<QueuedCall> got;
  Check(q.Take(7, kNoWait, &got) == Status::kStopped, "a worker never admitted is stopped");
  q.Admit(1);
  q.Admit(2);
  Check(q.Take(1, kNoWait, &got) == Status::kTimedOut,
        "an admitted worker waits when nothing does");
  Check(q.Submit(Batch({10, 11, 12, 13, 14})), "submit to an open queue");
  Check(q.waiting() == 5, "five calls wait");
  got.clear();
  Check(q.Take(1, kNoWait, &got) == Status::kCalls, "worker 1 takes");
  Check(Seqs(got) == std::vector<uint64_t>{10, 11, 12},
        "its share, ceil(5/2), oldest first: " + Show(Seqs(got)));
  Check(got[1].size == 1 && got[1].data()[0] == 11, "a call's bytes are its span of the batch");
  Check(got[0].batch == got[2].batch, "the calls of one batch share its buffer");
  std::vector<QueuedCall> got2;
  Check(q.Take(2, kNoWait, &got2) == Status::kCalls, "worker 2 takes the rest");
  Check(Seqs(got2) == std::vector<uint64_t>{13}, "its share, ceil(2/2): " + Show(Seqs(got2)));
  Check(q.Holder(12) == 1 && q.Holder(13) == 2 && q.Holder(14) == -1,
        "holders of taken and waiting calls");
  Check(q.Cancel(14) && q.waiting() == 0, "a waiting call can be cancelled");
  Check(!q.Cancel(12), "a held call cannot");

  // Out of order and a stranger's seq: only this worker's calls count, each once.
  Check(q.Finish(1, Batch({12, 13, 10})),
        "the first results since the last drain wake the main thread");
  Check(!q.Finish(1, Batch({11})), "later results ride on the same wake-up");
  Check(!q.Finish(1, Batch({11, 12})), "results of calls already answered are dropped");
  std::vector<QueuedCall> done = q.Drain();
  Check(Seqs(done) == std::vector<uint64_t>{12, 10, 11},
        "worker 1's results, not worker 2's call: " + Show(Seqs(done)));
  Check(q.Holder(10) == -1 && q.Holder(13) == 2, "answered calls are no longer held");
  Check(q.Finish(2, Batch({13})), "after a drain the next result wakes again");
  Check(Seqs(q.Drain()) == std::vector<uint64_t>{13}, "worker 2's result");
}

void Eviction() {
  CallQueue q(1);
  q.Admit(3);
  q.Submit(Batch({1, 2}));
  std::vector<QueuedCall> got;
  Check(q.Take(3, kNoWait, &got) == Status::kCalls && got.size() == 2, "one worker takes both");
  std::vector<uint64_t> lost = q.Evict(3);
  Check(lost == std::vector<uint64_t>{1, 2},
        "eviction returns the held calls unanswered: " + Show(lost));
  Check(!q.Finish(3, Batch({1})) && q.Drain().empty(), "an evicted worker's results are dropped");
  Check(q.Take(3, kNoWait, &got) == Status::kStopped, "an evicted worker is stopped");
  Check(q.Holder(1) == -1, "its calls are held by nobody");
  Check(q.Evict(3).empty() && q.Evict(99).empty(),
        "evicting again, or a stranger, returns nothing");
  q.Admit(4);
  q.Submit(Batch({5}));
  got.clear();
  Check(q.Take(4, kNoWait, &got) == Status::kCalls && Seqs(got) == std::vector<uint64_t>{5},
        "its replacement, admitted under a new id, serves");
}

void WakeAndClose() {
  CallQueue q(1);
  q.Admit(1);
  std::vector<QueuedCall> got;
  Status seen = Status::kTimedOut;
  std::thread worker([&] { seen = q.Take(1, std::chrono::milliseconds(5000), &got); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto t0 = std::chrono::steady_clock::now();
  q.Submit(Batch({42}));
  worker.join();
  auto waited = std::chrono::steady_clock::now() - t0;
  Check(seen == Status::kCalls && Seqs(got) == std::vector<uint64_t>{42},
        "a parked worker is woken by a submit");
  Check(waited < std::chrono::milliseconds(2000), "at once, not at its timeout");

  q.Submit(Batch({43, 44}));
  got.clear();
  std::thread parked([&] { seen = q.Take(1, std::chrono::milliseconds(5000), &got); });
  parked.join();
  Check(seen == Status::kCalls && got.size() == 2, "the worker holds two calls");
  q.Submit(Batch({45}));
  std::vector<uint64_t> never = q.Close();
  Check(never == std::vector<uint64_t>{45}, "close returns the calls nobody took: " + Show(never));
  Check(!q.Submit(Batch({46})), "a closed queue takes nothing");
  Check(q.Finish(1, Batch({43, 44})), "held calls still finish after close");
  Check(Seqs(q.Drain()) == std::vector<uint64_t>{43, 44}, "and their results drain");
  got.clear();
  Check(q.Take(1, kNoWait, &got) == Status::kStopped, "after close every worker stops");
  q.Admit(2);
  Check(q.Take(2, kNoWait, &got) == Status::kStopped, "a closed queue admits nobody");
}

}  // namespace

int main() {
  AdmissionAndShares();
  Eviction();
  WakeAndClose();
  return unit::Report();
}
