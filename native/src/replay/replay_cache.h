// A process-wide, in-memory replay cache for Kerberos authenticators, used instead of MIT's
// file cache when the server runs with `--replay-cache memory`.
//
// Why it is safe: the tag is taken from the AP-REQ's authenticator ciphertext, the part the
// client encrypts (and integrity-protects) under the ticket's session key, which is what MIT's
// own cache records. An attacker cannot change it without breaking the accept, unlike the
// AP-REQ's ap-options, which no checksum covers (so a hash of the whole token could be dodged
// by flipping one bit). A tag is inserted only after GSSAPI accepted the authenticator, under
// one mutex, so two workers racing with the same token cannot both win.
//
// Why a tag lives for twice the clock skew: the authenticator is acceptable while its
// timestamp is within the skew of the server's clock, and the timestamp is inside the
// ciphertext, which only GSSAPI decrypts. Keeping every tag for 2 x skew after acceptance
// covers the latest moment any accepted authenticator could still be presented.
#ifndef NEGOTIATE_REPLAY_REPLAY_CACHE_H_
#define NEGOTIATE_REPLAY_REPLAY_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_set>

#include "../krb5/ap_req.h"

namespace negotiate {

struct ReplayStats {
  uint64_t entries = 0;
  uint64_t capacity = 0;
  uint64_t window_ms = 0;
  uint64_t recorded = 0;
  uint64_t replays = 0;
  uint64_t refused_full = 0;
  bool enabled = false;
};

class ReplayCache {
 public:
  // The etype, the ciphertext length and its last 16 bytes (an HMAC for AES and DES3, keyed
  // stream output for RC4; unique per authenticator in every enctype).
  using Tag = std::array<uint8_t, 24>;

  static ReplayCache& Instance();

  // Turns the cache on. Idempotent with the same values. A new window applies to tags recorded
  // from then on; after a shrink, new tags may outlive their window until older ones expire
  // (expiry pops in insertion order), which errs on the safe side.
  void Configure(uint64_t window_ms, size_t capacity);
  bool enabled();

  enum class Result { kFresh, kReplay, kFull };
  // Records the authenticator unless its tag is already present (a replay) or the cache holds
  // `capacity` live tags (then nothing is recorded and the caller must refuse the handshake:
  // accepting without replay protection would be failing open).
  Result Record(const AuthenticatorCipher& authenticator);

  ReplayStats Stats();

  // Milliseconds on a monotonic clock: tags must not expire early when the wall clock jumps.
  static uint64_t NowMs();

  static Tag TagOf(const AuthenticatorCipher& authenticator);

 private:
  struct TagHash {
    size_t operator()(const Tag& t) const {
      // The trailing bytes are pseudo-random already; fold them rather than hash again.
      uint64_t a = 0, b = 0;
      std::memcpy(&a, t.data() + 8, 8);
      std::memcpy(&b, t.data() + 16, 8);
      return static_cast<size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
    }
  };
  struct Expiry {
    uint64_t at_ms;
    Tag tag;
  };

  ReplayCache() = default;
  void ExpireLocked(uint64_t now_ms);

  std::mutex mu_;
  bool enabled_ = false;
  uint64_t window_ms_ = 600000;
  size_t capacity_ = 4000000;
  std::unordered_set<Tag, TagHash> tags_;
  // Insertion order is expiry order (one window for all), so expiry is a pop from the front.
  std::deque<Expiry> order_;
  uint64_t recorded_ = 0;
  uint64_t replays_ = 0;
  uint64_t refused_full_ = 0;
};

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_REPLAY_CACHE_H_
