#include "replay_cache.h"

#include <chrono>

namespace negotiate {

ReplayCache& ReplayCache::Instance() {
  static ReplayCache* cache = new ReplayCache();  // never destroyed: workers may outlive statics
  return *cache;
}

void ReplayCache::Configure(uint64_t window_ms, size_t capacity) {
  std::lock_guard<std::mutex> lock(mu_);
  enabled_ = true;
  window_ms_ = window_ms;
  capacity_ = capacity;
}

bool ReplayCache::enabled() {
  std::lock_guard<std::mutex> lock(mu_);
  return enabled_;
}

ReplayCache::Tag ReplayCache::TagOf(const AuthenticatorCipher& a) {
  Tag tag{};
  uint32_t etype = static_cast<uint32_t>(a.etype);
  uint32_t len = static_cast<uint32_t>(a.cipher_len);
  std::memcpy(tag.data(), &etype, 4);
  std::memcpy(tag.data() + 4, &len, 4);
  size_t take = a.cipher_len < 16 ? a.cipher_len : 16;
  std::memcpy(tag.data() + 8 + (16 - take), a.cipher + a.cipher_len - take, take);
  return tag;
}

void ReplayCache::ExpireLocked(uint64_t now_ms) {
  while (!order_.empty() && order_.front().at_ms <= now_ms) {
    tags_.erase(order_.front().tag);
    order_.pop_front();
  }
}

uint64_t ReplayCache::NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

ReplayCache::Result ReplayCache::Record(const AuthenticatorCipher& authenticator) {
  Tag tag = TagOf(authenticator);
  uint64_t now_ms = NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(now_ms);
  if (tags_.count(tag) != 0) {
    ++replays_;
    return Result::kReplay;
  }
  if (tags_.size() >= capacity_) {
    ++refused_full_;
    return Result::kFull;
  }
  tags_.insert(tag);
  order_.push_back(Expiry{now_ms + window_ms_, tag});
  ++recorded_;
  return Result::kFresh;
}

ReplayStats ReplayCache::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(NowMs());
  ReplayStats s;
  s.entries = tags_.size();
  s.capacity = capacity_;
  s.window_ms = window_ms_;
  s.recorded = recorded_;
  s.replays = replays_;
  s.refused_full = refused_full_;
  s.enabled = enabled_;
  return s;
}

}  // namespace negotiate
