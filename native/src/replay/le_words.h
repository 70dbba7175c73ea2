// 64-bit words as 8 little-endian bytes: the byte layout of the tag keys and the replay journal,
// whatever the host's byte order.
#ifndef NEGOTIATE_REPLAY_LE_WORDS_H_
#define NEGOTIATE_REPLAY_LE_WORDS_H_

#include <cstdint>

namespace negotiate {

inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t w = 0;
  for (int i = 7; i >= 0; --i) w = (w << 8) | p[i];
  return w;
}

inline void StoreLe64(uint64_t w, uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(w >> (8 * i));
}

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_LE_WORDS_H_
