// The replay cache's clocks, moved by the test (replay_cache_unit.cc, replay_journal_unit.cc),
// and a tag for each number.
#ifndef NEGOTIATE_TEST_FAKE_REPLAY_CLOCK_H_
#define NEGOTIATE_TEST_FAKE_REPLAY_CLOCK_H_

#include <cstdint>

#include "../../../native/src/replay/replay_clock.h"
#include "../../../native/src/replay/tag_set.h"

namespace unit {

class FakeClock : public negotiate::ReplayClock {
 public:
  uint64_t wall = 1'800'000'000'000;  // 2027
  uint64_t boot = 1'000'000;
  uint64_t WallMs() override { return wall; }
  uint64_t BootMs() override { return boot; }
  void Advance(uint64_t ms) {
    wall += ms;
    boot += ms;
  }
};

inline negotiate::ReplayTag TagN(uint64_t n) {
  return negotiate::ReplayTag{n * 0x9e3779b97f4a7c15ULL + 1, n ^ 0xabcdef};
}

}  // namespace unit

#endif  // NEGOTIATE_TEST_FAKE_REPLAY_CLOCK_H_
