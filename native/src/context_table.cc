#include "context_table.h"

#include <chrono>
#include <vector>

namespace negotiate {

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

ContextTable& ContextTable::Instance() {
  // Never destroyed: worker threads may still hold references while the process exits, and
  // deleting GSS contexts from a static destructor races with the mechanism plugins unloading.
  static ContextTable* table = new ContextTable();
  return *table;
}

void ContextTable::Configure(size_t max_contexts, uint64_t handshake_ttl_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  max_contexts_ = max_contexts;
  handshake_ttl_ms_ = handshake_ttl_ms;
}

void ContextTable::CountRemovalLocked(const Entry& e, uint64_t* outcome) {
  if (e.established) {
    --counters_.established;
  } else {
    --counters_.handshaking;
  }
  --counters_.live;
  ++*outcome;
}

size_t ContextTable::SweepLocked(uint64_t now, std::vector<SecurityContext>* doomed) {
  size_t freed = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (!e.in_use && !e.established && now - e.last_used_ms > handshake_ttl_ms_) {
      doomed->push_back(std::move(e.ctx));
      CountRemovalLocked(e, &counters_.expired);
      ++freed;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  last_sweep_ms_ = now;
  return freed;
}

GssStatus ContextTable::CheckOut(uint64_t id, Want want, CheckedOut* out) {
  // Contexts are deleted after the lock is dropped: gss_delete_sec_context may take the
  // mechanism's own locks and there is no reason to hold every other thread behind it.
  std::vector<SecurityContext> doomed;
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t now = NowMs();
  if (now - last_sweep_ms_ > 1000) SweepLocked(now, &doomed);

  auto it = entries_.find(id);
  if (it == entries_.end()) {
    if (want == Want::kEstablished) {
      return MakeStatus("ERR_CONTEXT_NOT_FOUND", "no security context for this connection");
    }
    if (entries_.size() >= max_contexts_) {
      ++counters_.refused_full;
      return MakeStatus("ERR_CONTEXT_TABLE_FULL",
                        "context table is full (" + std::to_string(max_contexts_) +
                            " contexts); new handshakes are refused until some end");
    }
    Entry& e = entries_[id];
    e.in_use = true;
    e.last_used_ms = now;
    ++counters_.created;
    ++counters_.live;
    ++counters_.handshaking;
    ++counters_.in_use;
    out->id = id;
    out->is_new = true;
    return GssStatus{};
  }

  Entry& e = it->second;
  if (e.in_use) {
    ++counters_.refused_busy;
    return MakeStatus("ERR_CONTEXT_BUSY",
                      "a step on this connection's context is already running (the protocol is "
                      "lock-step: one token at a time)");
  }
  if (e.release_pending) {
    return MakeStatus("ERR_CONTEXT_NOT_FOUND", "the connection's context is being released");
  }
  if (want == Want::kHandshake && e.established) {
    return MakeStatus("ERR_CONTEXT_ESTABLISHED",
                      "the handshake on this connection is already complete");
  }
  if (want == Want::kEstablished && !e.established) {
    return MakeStatus("ERR_CONTEXT_NOT_ESTABLISHED",
                      "the handshake on this connection is not complete");
  }
  e.in_use = true;
  e.last_used_ms = now;
  ++counters_.in_use;
  out->id = id;
  out->ctx = std::move(e.ctx);
  out->established = e.established;
  out->mech = e.mech;
  out->spnego = e.spnego;
  out->is_new = false;
  return GssStatus{};
}

void ContextTable::CheckIn(CheckedOut&& co, bool established, Mech mech) {
  SecurityContext doomed;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(co.id);
  if (it == entries_.end()) {
    doomed = std::move(co.ctx);  // released by ReleaseAll while out; nothing to return to
    return;
  }
  Entry& e = it->second;
  --counters_.in_use;
  if (established && !e.established) {
    ++counters_.completed;
    --counters_.handshaking;
    ++counters_.established;
    e.established = true;
    e.mech = mech;
  }
  if (e.release_pending) {
    doomed = std::move(co.ctx);
    CountRemovalLocked(e, &counters_.released);
    entries_.erase(it);
    return;
  }
  e.ctx = std::move(co.ctx);
  e.spnego = co.spnego;
  e.in_use = false;
  e.last_used_ms = NowMs();
}

void ContextTable::Fail(CheckedOut&& co) {
  SecurityContext doomed = std::move(co.ctx);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(co.id);
  if (it == entries_.end()) return;
  --counters_.in_use;
  CountRemovalLocked(it->second,
                     it->second.release_pending ? &counters_.released : &counters_.failed);
  entries_.erase(it);
}

bool ContextTable::Release(uint64_t id) {
  SecurityContext doomed;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  if (e.in_use) {
    e.release_pending = true;
    return true;
  }
  if (pending_deletes_.size() < kMaxPendingDeletes) {
    pending_deletes_.push_back(std::move(e.ctx));
  } else {
    doomed = std::move(e.ctx);
  }
  CountRemovalLocked(e, &counters_.released);
  entries_.erase(it);
  return true;
}

size_t ContextTable::DeletePending(size_t max) {
  std::vector<SecurityContext> doomed;  // destroyed after the lock is released
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = pending_deletes_.size() < max ? pending_deletes_.size() : max;
  for (size_t i = 0; i < n; ++i) {
    doomed.push_back(std::move(pending_deletes_.back()));
    pending_deletes_.pop_back();
  }
  return n;
}

size_t ContextTable::ReleaseAll() {
  std::vector<SecurityContext> doomed;
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    ++n;
    if (e.in_use) {
      e.release_pending = true;
      ++it;
      continue;
    }
    doomed.push_back(std::move(e.ctx));
    CountRemovalLocked(e, &counters_.released);
    it = entries_.erase(it);
  }
  for (SecurityContext& ctx : pending_deletes_) doomed.push_back(std::move(ctx));
  pending_deletes_.clear();
  return n;
}

size_t ContextTable::Sweep() {
  std::vector<SecurityContext> doomed;
  std::lock_guard<std::mutex> lock(mu_);
  return SweepLocked(NowMs(), &doomed);
}

ContextCounters ContextTable::Counters() {
  std::lock_guard<std::mutex> lock(mu_);
  ContextCounters c = counters_;
  c.pending_delete = pending_deletes_.size();
  return c;
}

}  // namespace negotiate
