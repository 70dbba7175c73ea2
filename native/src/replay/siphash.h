// SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit PRF for short inputs. The replay cache
// uses it with a per-process random key, so a peer cannot choose inputs that collide in its
// tables or with somebody else's tag.
#ifndef NEGOTIATE_REPLAY_SIPHASH_H_
#define NEGOTIATE_REPLAY_SIPHASH_H_

#include <cstddef>
#include <cstdint>

namespace negotiate {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

uint64_t SipHash24(const SipKey& key, const uint8_t* data, size_t len);

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_SIPHASH_H_
