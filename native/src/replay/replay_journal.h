// What makes the in-memory replay cache survive a restart (`--replay-cache-journal DIR`): every
// tag the cache records is first appended to a file in DIR, and a process that starts on DIR
// loads the tags still within their window. Layout and reasoning: docs/security.md, "The
// replay journal".
//
// DIR holds `key` (the SipHash keys of tag_keys.h, mode 0600: the same authenticator must give
// the same tag after the restart), `lock` (flock'd by the one process that journals to DIR) and
// one `<16 hex digits>.tags` file per generation of the cache: a header (magic, a check of the
// key) then 32-byte records {tag.hi, tag.lo, principal hash, wall ms}, little-endian. A
// generation's file is removed when the cache drops the generation.
//
// Everything that could make a restart forget a tag fails closed: a DIR another user could
// write to, a journal file that is not ours (bad magic, another key), a key file with the wrong
// size or mode, a second process on DIR. A record that cannot be written refuses its handshake;
// a short write is cut back so later records stay aligned (or, if that fails too, the journal
// refuses every later one). A torn last record, from a crash during its write, is ignored: its
// handshake had not been answered. Records are not fsync'd: like MIT's file cache the journal
// survives the process, not the loss of the page cache (a power cut).
#ifndef NEGOTIATE_REPLAY_REPLAY_JOURNAL_H_
#define NEGOTIATE_REPLAY_REPLAY_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tag_keys.h"
#include "tag_set.h"
#include "unique_fd.h"

namespace negotiate {

struct JournalRecord {
  ReplayTag tag;
  uint64_t principal_hash = 0;
  uint64_t wall_ms = 0;  // when the cache recorded it
};

// One journal file as found at start: its number and its whole records.
struct JournalFile {
  uint64_t number = 0;
  std::vector<JournalRecord> records;
};

class ReplayJournal {
 public:
  static constexpr size_t kRecordBytes = 32;
  static constexpr size_t kHeaderBytes = 16;

  // Opens DIR: checks it, takes its lock, reads or creates its key, reads every journal file
  // (records older than `oldest_wall_ms` are left out, files with nothing newer removed).
  // Null with `error` set when any of it fails; no journal file is then changed.
  static std::unique_ptr<ReplayJournal> Open(const std::string& dir, uint64_t oldest_wall_ms,
                                             std::string* error);

  const std::string& dir() const { return dir_; }
  const TagKeys& keys() const { return keys_; }
  // The files read at Open, oldest first; moved out once.
  std::vector<JournalFile> TakeLoaded() { return std::move(loaded_); }

  // Starts a new journal file for a new generation and makes it the one Append writes to.
  bool StartFile(uint64_t* number, std::string* error);
  // Appends one record to the newest file.
  bool Append(const JournalRecord& record, std::string* error);
  // Removes the file of a dropped generation (best effort: a leftover is only read again).
  void Remove(uint64_t number);

  size_t files() const { return files_; }
  uint64_t failures() const { return failures_; }

 private:
  ReplayJournal() = default;
  std::string PathOf(uint64_t number) const;
  // The numbers of DIR's journal files, in order.
  bool ListFiles(std::vector<uint64_t>* numbers, std::string* error);
  bool ReadKey(const std::vector<uint64_t>& numbers, std::string* error);
  bool ReadFiles(const std::vector<uint64_t>& numbers, uint64_t oldest_wall_ms, std::string* error);
  bool ReadFile(uint64_t number, uint64_t oldest_wall_ms, std::string* error);

  std::string dir_;
  UniqueFd dir_fd_;
  UniqueFd lock_fd_;
  TagKeys keys_;
  uint64_t key_check_ = 0;
  std::vector<JournalFile> loaded_;
  uint64_t next_number_ = 1;
  UniqueFd current_;  // the newest file, appended to
  uint64_t current_size_ = 0;
  bool broken_ = false;  // a failed write could not be cut back
  size_t files_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_REPLAY_JOURNAL_H_
