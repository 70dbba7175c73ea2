#include "replay_clock.h"

#include <time.h>

namespace negotiate {
namespace {

uint64_t Ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

class SystemClock : public ReplayClock {
 public:
  uint64_t WallMs() override { return Ms(CLOCK_REALTIME); }
  uint64_t BootMs() override { return Ms(CLOCK_BOOTTIME); }
};

}  // namespace

ReplayClock* ReplayClock::System() {
  static SystemClock* clock = new SystemClock();  // never destroyed: workers may outlive statics
  return clock;
}

}  // namespace negotiate
