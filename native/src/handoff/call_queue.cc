#include "call_queue.h"

#include <algorithm>

namespace negotiate {

void CallQueue::Admit(uint32_t worker) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!closed_) serving_.insert(worker);
}

bool CallQueue::Submit(std::vector<QueuedCall> calls) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    for (QueuedCall& c : calls) waiting_.push_back(std::move(c));
  }
  // One worker is woken per batch: it takes its share and, when more wait, wakes the next
  // (Take). Waking all for a batch of a few calls woke workers that found nothing left.
  ready_.notify_one();
  return true;
}

CallQueue::TakeStatus CallQueue::Take(uint32_t worker, std::chrono::milliseconds timeout,
                                      std::vector<QueuedCall>* out) {
  std::unique_lock<std::mutex> lock(mu_);
  auto stopped = [&] { return closed_ || serving_.count(worker) == 0; };
  if (!ready_.wait_for(lock, timeout, [&] { return stopped() || !waiting_.empty(); })) {
    return TakeStatus::kTimedOut;
  }
  if (stopped()) return TakeStatus::kStopped;
  size_t take = std::max<size_t>(1, (waiting_.size() + workers_ - 1) / workers_);
  std::vector<uint64_t>& held = held_[worker];
  out->reserve(out->size() + take);
  for (size_t i = 0; i < take && !waiting_.empty(); i++) {
    held.push_back(waiting_.front().seq);
    out->push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  // More wait than this worker took: another parked worker may take its share now.
  if (!waiting_.empty()) ready_.notify_one();
  return TakeStatus::kCalls;
}

bool CallQueue::Finish(uint32_t worker, std::vector<QueuedCall> results) {
  // Seqs are 32 bits on the wire (binding/handoff.cc): this one marks an answered call.
  constexpr uint64_t kAnswered = UINT64_MAX;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(worker);
  if (it == held_.end()) return false;  // evicted meanwhile, or it holds nothing
  std::vector<uint64_t>& held = it->second;
  size_t before = finished_.size();
  size_t next = 0;
  for (QueuedCall& r : results) {
    // Results come back in the order the calls were taken: the next held call, as a rule.
    size_t at =
        next < held.size() && held[next] == r.seq
            ? next
            : static_cast<size_t>(std::find(held.begin(), held.end(), r.seq) - held.begin());
    if (at == held.size()) continue;  // not this worker's
    held[at] = kAnswered;
    next = at + 1;
    finished_.push_back(std::move(r));
  }
  held.erase(std::remove(held.begin(), held.end(), kAnswered), held.end());
  if (finished_.size() == before) return false;
  bool wake = wake_armed_;
  wake_armed_ = false;
  return wake;
}

std::vector<QueuedCall> CallQueue::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<QueuedCall> out;
  out.swap(finished_);
  wake_armed_ = true;
  return out;
}

bool CallQueue::Cancel(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [&](const QueuedCall& c) { return c.seq == seq; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

int64_t CallQueue::Holder(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [worker, held] : held_) {
    if (std::find(held.begin(), held.end(), seq) != held.end()) return worker;
  }
  return -1;
}

std::vector<uint64_t> CallQueue::Evict(uint32_t worker) {
  std::vector<uint64_t> lost;
  {
    std::lock_guard<std::mutex> lock(mu_);
    serving_.erase(worker);
    auto it = held_.find(worker);
    if (it != held_.end()) {
      lost = std::move(it->second);
      held_.erase(it);
    }
  }
  ready_.notify_all();
  return lost;
}

std::vector<uint64_t> CallQueue::Close() {
  std::vector<uint64_t> never_taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    for (const QueuedCall& c : waiting_) never_taken.push_back(c.seq);
    waiting_.clear();
  }
  ready_.notify_all();
  return never_taken;
}

size_t CallQueue::waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

}  // namespace negotiate
