#include "tag_keys.h"

#include <sys/random.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "le_words.h"

namespace negotiate {
namespace {

std::mutex keys_mu;
std::atomic<const TagKeys*> current_keys{nullptr};  // set once, never freed

bool SameKeys(const TagKeys& a, const TagKeys& b) {
  return a.hi.k0 == b.hi.k0 && a.hi.k1 == b.hi.k1 && a.lo.k0 == b.lo.k0 && a.lo.k1 == b.lo.k1 &&
         a.principal.k0 == b.principal.k0 && a.principal.k1 == b.principal.k1;
}

}  // namespace

TagKeys TagKeysFromBytes(const uint8_t (&bytes)[kTagKeyBytes]) {
  TagKeys k;
  k.hi = {LoadLe64(bytes), LoadLe64(bytes + 8)};
  k.lo = {LoadLe64(bytes + 16), LoadLe64(bytes + 24)};
  k.principal = {LoadLe64(bytes + 32), LoadLe64(bytes + 40)};
  return k;
}

void TagKeysToBytes(const TagKeys& keys, uint8_t (&bytes)[kTagKeyBytes]) {
  const uint64_t words[6] = {keys.hi.k0, keys.hi.k1,        keys.lo.k0,
                             keys.lo.k1, keys.principal.k0, keys.principal.k1};
  for (int i = 0; i < 6; ++i) StoreLe64(words[i], bytes + 8 * i);
}

TagKeys RandomTagKeys() {
  uint8_t bytes[kTagKeyBytes];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  TagKeys k = TagKeysFromBytes(bytes);
  explicit_bzero(bytes, sizeof bytes);
  return k;
}

const TagKeys& CurrentTagKeys() {
  const TagKeys* k = current_keys.load(std::memory_order_acquire);
  if (k != nullptr) return *k;
  std::lock_guard<std::mutex> lock(keys_mu);
  k = current_keys.load(std::memory_order_relaxed);
  if (k == nullptr) {
    k = new TagKeys(RandomTagKeys());
    current_keys.store(k, std::memory_order_release);
  }
  return *k;
}

bool InstallTagKeys(const TagKeys& keys) {
  std::lock_guard<std::mutex> lock(keys_mu);
  const TagKeys* k = current_keys.load(std::memory_order_relaxed);
  if (k != nullptr) return SameKeys(*k, keys);
  current_keys.store(new TagKeys(keys), std::memory_order_release);
  return true;
}

}  // namespace negotiate
