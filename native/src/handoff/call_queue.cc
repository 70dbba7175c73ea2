#include "call_queue.h"

#include <algorithm>

namespace negotiate {

bool CallQueue::Submit(std::vector<QueuedCall> calls) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    for (QueuedCall& c : calls) waiting_.push_back(std::move(c));
  }
  // One call wakes one worker; a batch is shared by all of them (Take takes a share each).
  if (calls.size() == 1) {
    ready_.notify_one();
  } else {
    ready_.notify_all();
  }
  return true;
}

CallQueue::TakeStatus CallQueue::Take(uint32_t worker, std::chrono::milliseconds timeout,
                                      std::vector<QueuedCall>* out) {
  std::unique_lock<std::mutex> lock(mu_);
  auto stopped = [&] { return closed_ || evicted_.count(worker) > 0; };
  if (!ready_.wait_for(lock, timeout, [&] { return stopped() || !waiting_.empty(); })) {
    return TakeStatus::kTimedOut;
  }
  if (stopped()) return TakeStatus::kStopped;
  size_t take = std::max<size_t>(1, (waiting_.size() + workers_ - 1) / workers_);
  for (size_t i = 0; i < take && !waiting_.empty(); i++) {
    held_[waiting_.front().seq] = worker;
    out->push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  // More wait than this worker took: another parked worker may take its share now.
  if (!waiting_.empty()) ready_.notify_one();
  return TakeStatus::kCalls;
}

bool CallQueue::Finish(uint32_t worker, std::vector<QueuedCall> results) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t before = finished_.size();
  for (QueuedCall& r : results) {
    auto it = held_.find(r.seq);
    if (it == held_.end() || it->second != worker) continue;  // evicted meanwhile
    held_.erase(it);
    finished_.push_back(std::move(r));
  }
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
  auto it = held_.find(seq);
  return it == held_.end() ? -1 : static_cast<int64_t>(it->second);
}

std::vector<uint64_t> CallQueue::Evict(uint32_t worker) {
  std::vector<uint64_t> lost;
  {
    std::lock_guard<std::mutex> lock(mu_);
    evicted_.insert(worker);
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->second == worker) {
        lost.push_back(it->first);
        it = held_.erase(it);
      } else {
        ++it;
      }
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
