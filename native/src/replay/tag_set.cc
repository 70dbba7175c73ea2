#include "tag_set.h"

namespace negotiate {
namespace {
constexpr size_t kInitialSlots = 1024;
}  // namespace

TagSet::TagSet() : slots_(kInitialSlots), mask_(kInitialSlots - 1) {}

ReplayTag TagSet::Normalised(const ReplayTag& tag) {
  // The empty marker is all-zero; a real tag of all zeros (probability 2^-128) becomes 0:1.
  if (tag.hi == 0 && tag.lo == 0) return ReplayTag{0, 1};
  return tag;
}

size_t TagSet::Find(const ReplayTag& tag) const {
  size_t i = static_cast<size_t>(tag.lo) & mask_;
  while (true) {
    const ReplayTag& slot = slots_[i];
    if ((slot.hi == 0 && slot.lo == 0) || slot == tag) return i;
    i = (i + 1) & mask_;
  }
}

bool TagSet::Contains(const ReplayTag& tag) const {
  ReplayTag t = Normalised(tag);
  return slots_[Find(t)] == t;
}

bool TagSet::Insert(const ReplayTag& tag) {
  ReplayTag t = Normalised(tag);
  size_t i = Find(t);
  if (slots_[i] == t) return false;
  slots_[i] = t;
  ++size_;
  if (size_ * 4 >= slots_.size() * 3) Grow();
  return true;
}

void TagSet::Grow() {
  std::vector<ReplayTag> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, ReplayTag{});
  mask_ = slots_.size() - 1;
  for (const ReplayTag& t : old) {
    if (t.hi == 0 && t.lo == 0) continue;
    slots_[Find(t)] = t;
  }
}

}  // namespace negotiate
