// The SipHash keys replay tags are made with (replay_tag.h). Random for each process, unless a
// replay journal (replay_journal.h) installs the keys it kept, so that tags recorded before a
// restart still match the same authenticators after it.
#ifndef NEGOTIATE_REPLAY_TAG_KEYS_H_
#define NEGOTIATE_REPLAY_TAG_KEYS_H_

#include <cstddef>
#include <cstdint>

#include "siphash.h"

namespace negotiate {

struct TagKeys {
  SipKey hi, lo, principal;
};
constexpr size_t kTagKeyBytes = 48;

TagKeys TagKeysFromBytes(const uint8_t (&bytes)[kTagKeyBytes]);
void TagKeysToBytes(const TagKeys& keys, uint8_t (&bytes)[kTagKeyBytes]);
TagKeys RandomTagKeys();

// The process's keys: the installed ones, else random ones drawn at the first call.
const TagKeys& CurrentTagKeys();

// Makes `keys` the process's keys. False when other keys are already in use (a tag may have
// been made with them); true when these very keys are.
bool InstallTagKeys(const TagKeys& keys);

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_TAG_KEYS_H_
