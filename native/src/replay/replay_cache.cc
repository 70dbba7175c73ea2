#include "replay_cache.h"

#include <algorithm>

namespace negotiate {

ReplayCache& ReplayCache::Instance() {
  static ReplayCache* cache = new ReplayCache(ReplayClock::System());  // never destroyed
  return *cache;
}

bool ReplayCache::Configure(const ReplayCacheConfig& config, std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  ReplayCacheConfig next = config;
  if (next.window_ms == 0) next.window_ms = 1;
  if (!next.journal_dir.empty()) {
    std::string ignored;
    if (!AttachJournalLocked(next.journal_dir, next.window_ms,
                             error != nullptr ? error : &ignored)) {
      return false;
    }
  }
  enabled_ = true;
  config_ = next;
  return true;
}

bool ReplayCache::AttachJournalLocked(const std::string& dir, uint64_t window_ms,
                                      std::string* error) {
  if (journal_) {
    if (journal_->dir() == dir) return true;
    *error = "this process's replay cache already journals to " + journal_->dir();
    return false;
  }
  if (entries_ != 0 || recorded_ != 0) {
    *error = "the replay cache already holds tags that are not in a journal";
    return false;
  }
  const uint64_t wall_ms = clock_->WallMs();
  const uint64_t boot_ms = clock_->BootMs();
  const uint64_t oldest = wall_ms > window_ms ? wall_ms - window_ms : 0;
  std::unique_ptr<ReplayJournal> journal = ReplayJournal::Open(dir, oldest, error);
  if (!journal) return false;
  if (!InstallTagKeys(journal->keys())) {
    *error = "replay tags were already made in this process with keys other than " + dir + "/key";
    return false;
  }
  // Each file read back becomes a generation that takes no new tags; each tag keeps the rest of
  // its window on both clocks, as if recorded in this process.
  for (JournalFile& file : journal->TakeLoaded()) {
    auto g = std::make_unique<Generation>();
    g->opened_boot_ms = boot_ms;
    g->journal_number = file.number;
    g->open = false;
    for (const JournalRecord& r : file.records) {
      if (!g->tags.Insert(r.tag)) continue;
      ++g->per_principal[r.principal_hash];
      const uint64_t end_wall = r.wall_ms + window_ms;
      g->expires_wall_ms = std::max(g->expires_wall_ms, end_wall);
      g->expires_boot_ms =
          std::max(g->expires_boot_ms, boot_ms + (end_wall - std::min(end_wall, wall_ms)));
      ++entries_;
      ++journal_loaded_;
    }
    generations_.push_back(std::move(g));
  }
  journal_ = std::move(journal);
  return true;
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
    if (journal_ && g.journal_number != 0) journal_->Remove(g.journal_number);
    generations_.pop_front();
  }
}

ReplayCache::Generation* ReplayCache::CurrentLocked(uint64_t boot_ms, std::string* why) {
  uint64_t span = std::max<uint64_t>(1, config_.window_ms / 4);
  const bool fresh_needed = generations_.empty() || !generations_.back()->open ||
                            (boot_ms >= generations_.back()->opened_boot_ms + span &&
                             generations_.size() < kMaxGenerations);
  if (fresh_needed) {
    auto g = std::make_unique<Generation>();
    g->opened_boot_ms = boot_ms;
    if (journal_) {
      std::string error;
      if (!journal_->StartFile(&g->journal_number, &error)) {
        if (why != nullptr) *why = error;
        return nullptr;
      }
    }
    generations_.push_back(std::move(g));
  }
  return generations_.back().get();
}

ReplayCache::Result ReplayCache::Record(const ReplayTag& tag, uint64_t principal_hash,
                                        std::string* why) {
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
  // Journaled before it counts: a tag that a restart would forget must not let its handshake in.
  std::string error;
  Generation* g = CurrentLocked(boot_ms, &error);
  if (g == nullptr || (journal_ && !journal_->Append({tag, principal_hash, wall_ms}, &error))) {
    ++refused_journal_;
    if (why != nullptr) *why = error;
    return Result::kUnjournaled;
  }
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
  s.journal = journal_ != nullptr;
  s.journal_loaded = journal_loaded_;
  s.journal_files = journal_ ? journal_->files() : 0;
  s.refused_journal = refused_journal_;
  return s;
}

}  // namespace negotiate
