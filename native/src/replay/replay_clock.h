// The two clocks the replay cache keeps tags by. krb5 checks an authenticator's time against
// the wall clock, so a tag must live as long as the wall clock says its authenticator could
// still be accepted; the boot clock (never stepped) keeps a forward jump of the wall clock from
// dropping tags that a later step back would make acceptable again.
#ifndef NEGOTIATE_REPLAY_REPLAY_CLOCK_H_
#define NEGOTIATE_REPLAY_REPLAY_CLOCK_H_

#include <cstdint>

namespace negotiate {

class ReplayClock {
 public:
  virtual ~ReplayClock() = default;
  virtual uint64_t WallMs() = 0;  // CLOCK_REALTIME, milliseconds since the epoch
  virtual uint64_t BootMs() = 0;  // CLOCK_BOOTTIME: monotonic, counts suspend

  static ReplayClock* System();  // the process's real clocks; never destroyed
};

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_REPLAY_CLOCK_H_
