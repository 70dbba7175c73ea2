// A set of 128-bit replay tags: open addressing with linear probing, 16 bytes a slot, grown by
// doubling at 3/4 full, never shrunk or deleted from (the replay cache drops whole sets when
// they expire). Not thread-safe: the replay cache holds its lock around every call.
#ifndef NEGOTIATE_REPLAY_TAG_SET_H_
#define NEGOTIATE_REPLAY_TAG_SET_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace negotiate {

// A keyed hash of what identifies one authenticator (replay_tag.h). Tags are uniformly
// distributed, so `lo` indexes the table directly; all-zero marks an empty slot.
struct ReplayTag {
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool operator==(const ReplayTag& o) const { return hi == o.hi && lo == o.lo; }
};

class TagSet {
 public:
  TagSet();

  bool Contains(const ReplayTag& tag) const;
  // Adds the tag; returns false if it was already present.
  bool Insert(const ReplayTag& tag);

  size_t size() const { return size_; }
  size_t bytes() const { return slots_.size() * sizeof(ReplayTag); }

 private:
  static ReplayTag Normalised(const ReplayTag& tag);
  size_t Find(const ReplayTag& tag) const;  // the tag's slot, or the empty slot where it would go
  void Grow();

  std::vector<ReplayTag> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_TAG_SET_H_
