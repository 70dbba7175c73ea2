#include "replay_cache.h"

#include <algorithm>

namespace negotiate {

ReplayCache& ReplayCache::Instance() {
  static ReplayCache* cache = new ReplayCache(ReplayClock::System());  // never destroyed
  return *cache;
}

void ReplayCache::Configure(const ReplayCacheConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  enabled_ = true;
  config_ = config;
  if (config_.window_ms == 0) config_.window_ms = 1;
}

bool ReplayCache::enabled() {
  std::lock_guard<std::mutex> lock(mu_);
  return enabled_;
}

size_t ReplayCache::QuotaLocked() const {
  if (config_.principal_quota != 0) return config_.principal_quota;
  return std::max<size_t>(1, config_.capacity / 4);
}

void ReplayCache::ExpireLocked(uint64_t wall_ms, uint64_t boot_ms) {
  // Oldest first; a generation that must stay (the wall clock stepped back) keeps the younger
  // ones behind it too, which errs on the safe side.
  while (!generations_.empty()) {
    const Generation& g = *generations_.front();
    if (wall_ms <= g.expires_wall_ms || boot_ms <= g.expires_boot_ms) break;
    entries_ -= g.tags.size();
    generations_.pop_front();
  }
}

ReplayCache::Generation* ReplayCache::CurrentLocked(uint64_t boot_ms) {
  uint64_t span = std::max<uint64_t>(1, config_.window_ms / 4);
  if (generations_.empty() || (boot_ms >= generations_.back()->opened_boot_ms + span &&
                               generations_.size() < kMaxGenerations)) {
    auto g = std::make_unique<Generation>();
    g->opened_boot_ms = boot_ms;
    generations_.push_back(std::move(g));
  }
  return generations_.back().get();
}

ReplayCache::Result ReplayCache::Record(const ReplayTag& tag, uint64_t principal_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t wall_ms = clock_->WallMs();
  uint64_t boot_ms = clock_->BootMs();
  ExpireLocked(wall_ms, boot_ms);
  size_t held = 0;
  for (const auto& g : generations_) {
    if (g->tags.Contains(tag)) {
      ++replays_;
      return Result::kReplay;
    }
    auto it = g->per_principal.find(principal_hash);
    if (it != g->per_principal.end()) held += it->second;
  }
  if (entries_ >= config_.capacity) {
    ++refused_full_;
    return Result::kFull;
  }
  if (held >= QuotaLocked()) {
    ++refused_quota_;
    return Result::kQuota;
  }
  Generation* g = CurrentLocked(boot_ms);
  g->tags.Insert(tag);
  ++g->per_principal[principal_hash];
  g->expires_wall_ms = std::max(g->expires_wall_ms, wall_ms + config_.window_ms);
  g->expires_boot_ms = std::max(g->expires_boot_ms, boot_ms + config_.window_ms);
  ++entries_;
  ++recorded_;
  return Result::kFresh;
}

ReplayStats ReplayCache::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(clock_->WallMs(), clock_->BootMs());
  ReplayStats s;
  s.entries = entries_;
  s.capacity = config_.capacity;
  s.principal_quota = QuotaLocked();
  s.window_ms = config_.window_ms;
  s.recorded = recorded_;
  s.replays = replays_;
  s.refused_full = refused_full_;
  s.refused_quota = refused_quota_;
  s.generations = generations_.size();
  for (const auto& g : generations_) {
    // unordered_map nodes: key, value, next pointer, cached hash, allocator overhead.
    s.bytes += g->tags.bytes() + g->per_principal.size() * 48 +
               g->per_principal.bucket_count() * sizeof(void*);
  }
  s.enabled = enabled_;
  return s;
}

}  // namespace negotiate
