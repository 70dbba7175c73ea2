#include "memory_keytab.h"

#include <krb5/krb5.h>

#include <map>
#include <mutex>

#include "krb5_handles.h"

namespace negotiate {
namespace {

// The handles that keep snapshots alive, with the context they were resolved in. Both live
// for the process (Node may unload nothing at exit; workers may still hold references).
struct Holder {
  std::mutex mu;
  krb5_context ctx = nullptr;
  std::map<std::string, krb5_keytab> snapshots;
};

Holder& Holders() {
  static Holder* holder = new Holder();
  return *holder;
}

}  // namespace

KeytabSnapshot SnapshotKeytab(const std::string& source, const std::string& memory_name) {
  KeytabSnapshot out;
  Holder& h = Holders();
  std::lock_guard<std::mutex> lock(h.mu);
  if (h.ctx == nullptr && krb5_init_context(&h.ctx) != 0) {
    h.ctx = nullptr;
    out.error = "cannot initialise krb5";
    return out;
  }
  if (h.snapshots.count(memory_name) != 0) {
    out.error = "keytab snapshot " + memory_name + " exists already";
    return out;
  }
  std::string name = source.find(':') == std::string::npos ? "FILE:" + source : source;
  Keytab in(h.ctx, name);
  if (in.code() != 0) {
    out.error = ErrorText(h.ctx, in.code());
    return out;
  }
  krb5_keytab snapshot = nullptr;
  krb5_error_code code = krb5_kt_resolve(h.ctx, memory_name.c_str(), &snapshot);
  if (code != 0) {
    out.error = ErrorText(h.ctx, code);
    return out;
  }
  krb5_kt_cursor cursor;
  code = krb5_kt_start_seq_get(h.ctx, in.get(), &cursor);
  if (code == 0) {
    krb5_keytab_entry entry;
    while ((code = krb5_kt_next_entry(h.ctx, in.get(), &entry, &cursor)) == 0) {
      code = krb5_kt_add_entry(h.ctx, snapshot, &entry);
      krb5_free_keytab_entry_contents(h.ctx, &entry);
      if (code != 0) break;
      ++out.entries;
    }
    krb5_kt_end_seq_get(h.ctx, in.get(), &cursor);
  }
  if (code != KRB5_KT_END || out.entries == 0) {
    out.error =
        code == KRB5_KT_END ? "keytab " + source + " holds no keys" : ErrorText(h.ctx, code);
    out.entries = 0;
    // MIT offers no public way to empty a memory keytab: callers never reuse a name.
    krb5_kt_close(h.ctx, snapshot);
    return out;
  }
  h.snapshots[memory_name] = snapshot;
  out.ok = true;
  return out;
}

void DropKeytabSnapshot(const std::string& memory_name) {
  Holder& h = Holders();
  std::lock_guard<std::mutex> lock(h.mu);
  auto it = h.snapshots.find(memory_name);
  if (it == h.snapshots.end()) return;
  krb5_kt_close(h.ctx, it->second);
  h.snapshots.erase(it);
}

}  // namespace negotiate
