// The process-wide table of security contexts, keyed by connection id. Every worker thread
// loads the addon into its own JS environment but they share this one table (one address
// space), so any worker can run any leg of any connection.
//
// Lock-step discipline: a context is checked out for the duration of one GSS call and checked
// back in afterwards. A second checkout of the same id while the first is out is a protocol
// error (ERR_CONTEXT_BUSY), never a data race on the gss_ctx_id_t.
#ifndef NEGOTIATE_CONTEXT_TABLE_H_
#define NEGOTIATE_CONTEXT_TABLE_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gss/acceptor.h"
#include "gss/handles.h"
#include "gss/status.h"

namespace negotiate {

struct ContextCounters {
  uint64_t live = 0;
  uint64_t handshaking = 0;
  uint64_t established = 0;
  uint64_t in_use = 0;
  uint64_t created = 0;
  uint64_t completed = 0;
  uint64_t failed = 0;
  uint64_t released = 0;
  uint64_t expired = 0;
  uint64_t refused_full = 0;
  uint64_t refused_busy = 0;
  uint64_t pending_delete = 0;  // released, gss_delete_sec_context not yet run (see DeletePending)
};

// What a caller holds while a context is checked out. The raw handle is owned by this object
// until CheckIn/Fail give it back.
struct CheckedOut {
  uint64_t id = 0;
  SecurityContext ctx;
  bool established = false;
  Mech mech = Mech::kUnknown;
  bool is_new = false;
  // The first token was SPNEGO; remembered across legs because only the first shows it.
  bool spnego = false;
};

class ContextTable {
 public:
  static ContextTable& Instance();

  void Configure(size_t max_contexts, uint64_t handshake_ttl_ms);

  enum class Want { kHandshake, kEstablished };
  // Takes the context of `id` out of the table. For kHandshake a missing entry is created
  // (subject to the size limit); for kEstablished it must exist and be established.
  GssStatus CheckOut(uint64_t id, Want want, CheckedOut* out);
  // Returns a context after a successful step; `established` marks the handshake complete.
  void CheckIn(CheckedOut&& co, bool established, Mech mech);
  // Drops a context whose handshake failed.
  void Fail(CheckedOut&& co);
  // Frees the context of `id` (connection closed). If a worker has it checked out, it is freed
  // when that worker checks it back in. Returns false if there was no such entry.
  // The entry leaves the table at once, but gss_delete_sec_context (key schedules and crypto
  // state: the costly part) is left to DeletePending, which the worker threads run after each
  // batch: Release is called on the thread that owns the sockets. At most
  // kMaxPendingDeletes wait; beyond that Release deletes on the calling thread.
  bool Release(uint64_t id);
  // Runs gss_delete_sec_context for up to `max` released contexts; returns how many.
  size_t DeletePending(size_t max);
  static constexpr size_t kMaxPendingDeletes = 1024;
  // Frees every context (shutdown). Checked-out ones are freed on check-in.
  size_t ReleaseAll();
  // Frees handshakes idle for longer than the TTL. Returns how many were freed.
  size_t Sweep();
  ContextCounters Counters();

 private:
  struct Entry {
    SecurityContext ctx;
    bool established = false;
    bool in_use = false;
    bool release_pending = false;
    bool spnego = false;
    Mech mech = Mech::kUnknown;
    uint64_t last_used_ms = 0;
  };

  ContextTable() = default;
  size_t SweepLocked(uint64_t now, std::vector<SecurityContext>* doomed);
  // Updates the counters for an entry about to be erased; `outcome` is the counter of why
  // (expired, failed, released).
  void CountRemovalLocked(const Entry& e, uint64_t* outcome);

  std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::vector<SecurityContext> pending_deletes_;
  size_t max_contexts_ = 100000;
  uint64_t handshake_ttl_ms_ = 30000;
  uint64_t last_sweep_ms_ = 0;
  ContextCounters counters_;
};

uint64_t NowMs();

}  // namespace negotiate

#endif  // NEGOTIATE_CONTEXT_TABLE_H_
