// Copies a keytab into a MEMORY: keytab that the acceptor credentials use instead of the file.
//
// Why: MIT reopens and rescans a FILE keytab on every accept (file I/O per handshake), and a
// keytab rewritten in place (kadmin ktadd, a config-management copy) can be read half-written
// by an accept in progress. A snapshot is read once, at start and on each reload, and swapped
// whole: accepts see either the old keys or the new ones, never a mixture.
#ifndef NEGOTIATE_KRB5_MEMORY_KEYTAB_H_
#define NEGOTIATE_KRB5_MEMORY_KEYTAB_H_

#include <cstddef>
#include <string>

namespace negotiate {

struct KeytabSnapshot {
  bool ok = false;
  std::string error;   // krb5's message when !ok
  size_t entries = 0;  // keys copied
};

// Copies every entry of `source` (a path or TYPE:residual name) into the memory keytab
// `memory_name` ("MEMORY:..."), which must never have been used before, even by a failed
// snapshot (a failed copy may leave entries behind). The process keeps the snapshot alive until
// DropKeytabSnapshot; credentials acquired from it keep their own references.
KeytabSnapshot SnapshotKeytab(const std::string& source, const std::string& memory_name);

// Gives up the process's reference to a snapshot; credentials still using it keep it alive.
void DropKeytabSnapshot(const std::string& memory_name);

}  // namespace negotiate

#endif  // NEGOTIATE_KRB5_MEMORY_KEYTAB_H_
