// Unit checks of the in-memory replay cache's parts, on a clock the test moves: SipHash against
// its published vectors, the tag set through growth, and the cache's expiry, clock steps,
// capacity and per-principal quota. Built and run by test/native/replayCacheUnit.test.ts;
// prints one line per failed check and "N passed, M failed" last; exits non-zero on failure.
#include <cstdio>
#include <string>

#include "../../../native/src/replay/replay_cache.h"
#include "../../../native/src/replay/siphash.h"
#include "../../../native/src/replay/tag_set.h"
#include "fake_replay_clock.h"
#include "unit_check.h"

using negotiate::ReplayCache;
using negotiate::ReplayCacheConfig;
using negotiate::ReplayTag;

namespace {

using unit::Check;

using unit::FakeClock;
using unit::TagN;

using Result = ReplayCache::Result;

void SipHashVectors() {
  // SipHash-2-4 reference vectors: key 00..0f, message 00..(n-1), for n = 0, 1, 7, 8, 15, 63.
  const struct {
    size_t n;
    uint64_t want;
  } vectors[] = {{0, 0x726fdb47dd0e0e31ULL},  {1, 0x74f839c593dc67fdULL},
                 {7, 0xab0200f58b01d137ULL},  {8, 0x93f5f5799a932462ULL},
                 {15, 0xa129ca6149be45e5ULL}, {63, 0x958a324ceb064572ULL}};
  negotiate::SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  uint8_t msg[64];
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
  for (const auto& v : vectors) {
    Check(negotiate::SipHash24(key, msg, v.n) == v.want, "siphash vector n=" + std::to_string(v.n));
  }
}

void TagSetGrowth() {
  negotiate::TagSet set;
  bool all_new = true, all_found = true, none_false = true;
  for (uint64_t i = 0; i < 100000; ++i) all_new &= set.Insert(TagN(i));
  for (uint64_t i = 0; i < 100000; ++i) all_found &= set.Contains(TagN(i));
  for (uint64_t i = 100000; i < 200000; ++i) none_false &= !set.Contains(TagN(i));
  Check(all_new, "tag set: 100,000 distinct tags all inserted");
  Check(all_found, "tag set: every tag found after growth");
  Check(none_false, "tag set: no false positives");
  Check(!set.Insert(TagN(5)), "tag set: a second insert of a tag is refused");
  Check(set.size() == 100000, "tag set: size");
  Check(set.bytes() / set.size() <= 43, "tag set: at most 43 bytes a tag");
  Check(
      set.Insert(ReplayTag{0, 0}) && set.Contains(ReplayTag{0, 0}) && !set.Insert(ReplayTag{0, 0}),
      "tag set: the all-zero tag is a tag like any other");
}

void ExpiryAfterWindow() {
  FakeClock clock;
  ReplayCache cache(&clock);
  cache.Configure(ReplayCacheConfig{600000, 1000, 0, ""});
  Check(cache.Record(TagN(1), 7) == Result::kFresh, "expiry: first record fresh");
  clock.Advance(599000);
  Check(cache.Record(TagN(1), 7) == Result::kReplay, "expiry: a replay within the window");
  clock.Advance(1000 + 150000 + 1);  // window plus the generation's quarter window
  Check(cache.Record(TagN(1), 7) == Result::kFresh, "expiry: gone after the window");
  Check(cache.Stats().generations <= 2, "expiry: old generations dropped");
}

void WallClockStepsBack() {
  // The case: krb5 checks authenticators against the wall clock. If it steps back by
  // more than the window, an accepted authenticator becomes valid again: its tag must stay.
  FakeClock clock;
  ReplayCache cache(&clock);
  cache.Configure(ReplayCacheConfig{600000, 1000, 0, ""});
  Check(cache.Record(TagN(2), 7) == Result::kFresh, "step back: recorded");
  clock.wall -= 3600000;  // an hour back
  clock.boot += 2 * 600000;
  Check(cache.Record(TagN(2), 7) == Result::kReplay,
        "step back: still a replay after the boot clock passed the window");
  clock.wall += 3600000 + 600000 - 1000;  // the wall clock catches up, still inside the window
  clock.boot += 3600000;
  Check(cache.Record(TagN(2), 7) == Result::kReplay,
        "step back: still a replay inside the wall-clock window");
  clock.wall += 2000 + 150000;
  clock.boot += 2000;
  Check(cache.Record(TagN(2), 7) == Result::kFresh,
        "step back: gone once the wall clock passed its window");
}

void WallClockJumpsForward() {
  // A forward jump must not drop tags that a later step back would make valid again.
  FakeClock clock;
  ReplayCache cache(&clock);
  cache.Configure(ReplayCacheConfig{600000, 1000, 0, ""});
  cache.Record(TagN(3), 7);
  clock.wall += 86400000;  // a day ahead, then back
  clock.boot += 1000;
  Check(cache.Record(TagN(4), 7) == Result::kFresh, "jump: another tag recorded");
  clock.wall -= 86400000;
  Check(cache.Record(TagN(3), 7) == Result::kReplay,
        "jump: the tag survived the jump and the step back");
}

void CapacityAndQuota() {
  FakeClock clock;
  ReplayCache cache(&clock);
  cache.Configure(ReplayCacheConfig{600000, 8, 3, ""});
  int fresh = 0;
  for (uint64_t i = 0; i < 5; ++i) fresh += cache.Record(TagN(100 + i), 1) == Result::kFresh;
  Check(fresh == 3, "quota: principal 1 holds 3 of 5");
  Check(cache.Stats().refused_quota == 2, "quota: two refusals counted");
  Check(cache.Record(TagN(100), 1) == Result::kReplay,
        "quota: a replay is still a replay at quota");
  for (uint64_t i = 0; i < 3; ++i) cache.Record(TagN(200 + i), 2);
  Check(cache.Record(TagN(300), 3) == Result::kFresh, "capacity: the 7th and 8th");
  Check(cache.Record(TagN(301), 3) == Result::kFresh, "capacity: the 8th");
  Check(cache.Record(TagN(302), 4) == Result::kFull, "capacity: full refuses a ninth");
  Check(cache.Record(TagN(200), 2) == Result::kReplay, "capacity: full still recognises a replay");
  Check(cache.Stats().entries == 8, "capacity: 8 entries");
  clock.Advance(600000 + 150000 + 1);
  Check(cache.Record(TagN(302), 4) == Result::kFresh, "capacity: room again after expiry");
  Check(cache.Stats().entries == 1, "capacity: expired entries gone from the count");
  // Spread over generations, the quota still counts every live tag of the principal.
  ReplayCache spread(&clock);
  spread.Configure(ReplayCacheConfig{600000, 100, 3, ""});
  for (uint64_t i = 0; i < 3; ++i) {
    spread.Record(TagN(400 + i), 9);
    clock.Advance(160000);
  }
  Check(spread.Stats().generations == 3, "quota: three generations");
  Check(spread.Record(TagN(500), 9) == Result::kQuota, "quota: counted across generations");
  Check(spread.Stats().principal_quota == 3, "quota: reported");
  ReplayCache defaults(&clock);
  defaults.Configure(ReplayCacheConfig{600000, 100, 0, ""});
  Check(defaults.Stats().principal_quota == 25, "quota: a quarter of the capacity by default");
}

void GenerationsAreBounded() {
  // With the wall clock stepped far back nothing expires; generations stop growing at the cap
  // and new tags join the newest one.
  FakeClock clock;
  ReplayCache cache(&clock);
  cache.Configure(ReplayCacheConfig{4000, 100000, 0, ""});
  clock.wall -= 10'000'000'000ULL;
  uint64_t t = 0;
  for (int i = 0; i < 200; ++i) {
    cache.Record(TagN(1000 + t++), 1);
    clock.boot += 1000;
  }
  Check(cache.Stats().generations <= 64, "generations: at most 64");
  Check(cache.Record(TagN(1000), 1) == Result::kReplay, "generations: the first tag is still held");
}

}  // namespace

int main() {
  SipHashVectors();
  TagSetGrowth();
  ExpiryAfterWindow();
  WallClockStepsBack();
  WallClockJumpsForward();
  CapacityAndQuota();
  GenerationsAreBounded();
  return unit::Report();
}
