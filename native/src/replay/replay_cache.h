// A process-wide, in-memory replay cache for Kerberos authenticators, used instead of MIT's
// file cache when the server runs with `--replay-cache memory`. Design and sizing:
// docs/security.md, "The in-memory replay cache".
//
// A tag (replay_tag.h) identifies one authenticator by what GSSAPI decrypted and verified, and
// is recorded only when a context completes, so nothing an unauthenticated peer sends is
// stored. Tags are kept in generations: each generation collects the tags of a quarter window
// and is dropped whole once both clocks say every authenticator in it has expired, so expiry
// costs nothing per tag and a tag costs 16 bytes over the table's load (21-43 B).
// With a journal (replay_journal.h) every tag is also written to a file before it counts, and
// read back at start, so a restart forgets none.
#ifndef NEGOTIATE_REPLAY_REPLAY_CACHE_H_
#define NEGOTIATE_REPLAY_REPLAY_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "replay_clock.h"
#include "replay_journal.h"
#include "tag_set.h"

namespace negotiate {

struct ReplayCacheConfig {
  // How long a tag is kept: twice krb5's clock skew (an authenticator is acceptable while its
  // time is within the skew of the clock, and its time was within the skew when accepted).
  uint64_t window_ms = 600000;
  size_t capacity = 8000000;   // most tags held; beyond it new handshakes are refused
  size_t principal_quota = 0;  // most tags one principal may hold; 0 means capacity / 4
  // A directory to journal every tag to and load them from at start (replay_journal.h); empty
  // for none. Once a journal is attached it stays for the life of the cache.
  std::string journal_dir;
};

struct ReplayStats {
  uint64_t entries = 0;
  uint64_t capacity = 0;
  uint64_t principal_quota = 0;
  uint64_t window_ms = 0;
  uint64_t recorded = 0;
  uint64_t replays = 0;
  uint64_t refused_full = 0;
  uint64_t refused_quota = 0;
  uint64_t generations = 0;
  uint64_t bytes = 0;
  bool enabled = false;
  bool journal = false;
  uint64_t journal_loaded = 0;  // tags read back from the journal at start
  uint64_t journal_files = 0;
  uint64_t refused_journal = 0;  // handshakes refused because their tag could not be journaled
};

class ReplayCache {
 public:
  explicit ReplayCache(ReplayClock* clock) : clock_(clock) {}
  static ReplayCache& Instance();  // the process-wide cache, on the system clocks

  // Turns the cache on, or changes its settings; a new window applies to tags recorded from
  // then on. Idempotent with the same values. With a journal directory, the first call opens
  // it and loads its tags; false (with `error`, the cache unchanged) when it cannot, or when
  // tags not in it were already recorded or another directory is attached.
  bool Configure(const ReplayCacheConfig& config, std::string* error = nullptr);
  bool enabled();

  enum class Result { kFresh, kReplay, kFull, kQuota, kUnjournaled };
  // Records the tag for `principal_hash`, unless it is already present (a replay), the cache is
  // full, that principal holds its quota, or the journal could not be written (`why` says
  // why): then nothing is recorded and the caller must refuse the handshake (accepting without
  // replay protection would be failing open).
  Result Record(const ReplayTag& tag, uint64_t principal_hash, std::string* why = nullptr);

  ReplayStats Stats();

 private:
  struct Generation {
    TagSet tags;
    std::unordered_map<uint64_t, uint32_t> per_principal;
    uint64_t opened_boot_ms = 0;
    uint64_t expires_wall_ms = 0;  // the latest end of any tag's window in it, on each clock
    uint64_t expires_boot_ms = 0;
    uint64_t journal_number = 0;  // its journal file, 0 for none
    bool open = true;             // takes new tags (a generation loaded from the journal does not)
  };
  // More generations than this only pile up when the wall clock stepped back by many windows;
  // new tags then join the newest one, which only makes it live longer.
  static constexpr size_t kMaxGenerations = 64;

  // Opens the journal and loads its tags, each kept for `window_ms` from its recorded time.
  bool AttachJournalLocked(const std::string& dir, uint64_t window_ms, std::string* error);
  void ExpireLocked(uint64_t wall_ms, uint64_t boot_ms);
  // The generation new tags go to; null when its journal file cannot be started (`why`).
  Generation* CurrentLocked(uint64_t boot_ms, std::string* why);
  size_t QuotaLocked() const;

  ReplayClock* clock_;
  std::mutex mu_;
  bool enabled_ = false;
  ReplayCacheConfig config_;
  std::deque<std::unique_ptr<Generation>> generations_;  // oldest first
  size_t entries_ = 0;
  uint64_t recorded_ = 0;
  uint64_t replays_ = 0;
  uint64_t refused_full_ = 0;
  uint64_t refused_quota_ = 0;
  std::unique_ptr<ReplayJournal> journal_;
  uint64_t journal_loaded_ = 0;
  uint64_t refused_journal_ = 0;
};

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_REPLAY_CACHE_H_
