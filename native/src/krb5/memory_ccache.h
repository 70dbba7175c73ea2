// MEMORY ccaches for credentials that must not outlive a call: a process-unique name and an
// owner that destroys (not just closes) the cache, since a MEMORY cache lives until destroyed.
#ifndef NEGOTIATE_KRB5_MEMORY_CCACHE_H_
#define NEGOTIATE_KRB5_MEMORY_CCACHE_H_

#include <krb5/krb5.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <utility>

namespace negotiate {

// "MEMORY:negotiate-<what>-<pid>-<n>": unique within the process, across threads.
inline std::string UniqueMemoryCcacheName(const std::string& what) {
  static std::atomic<unsigned long> counter{0};
  return "MEMORY:negotiate-" + what + "-" + std::to_string(getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

class DestroyedCcache {
 public:
  DestroyedCcache(krb5_context ctx, const std::string& name) : ctx_(ctx) {
    code_ = krb5_cc_resolve(ctx_, name.c_str(), &cc_);
  }
  ~DestroyedCcache() {
    if (code_ == 0) krb5_cc_destroy(ctx_, cc_);
  }
  DestroyedCcache(const DestroyedCcache&) = delete;
  DestroyedCcache& operator=(const DestroyedCcache&) = delete;
  krb5_ccache get() const { return cc_; }
  krb5_error_code code() const { return code_; }

 private:
  krb5_context ctx_;
  krb5_ccache cc_ = nullptr;
  krb5_error_code code_ = 0;
};

// A MEMORY ccache owned by name for as long as something long-lived uses it (a credential that
// keeps its TGT there): destroyed with its owner, so a credential replaced at keytab reload leaves
// no TGT behind in the process. Movable; a moved-from owner destroys nothing.
class OwnedMemoryCcache {
 public:
  OwnedMemoryCcache() = default;
  explicit OwnedMemoryCcache(std::string name) : name_(std::move(name)) {}
  ~OwnedMemoryCcache() { Destroy(); }
  OwnedMemoryCcache(OwnedMemoryCcache&& other) noexcept : name_(std::move(other.name_)) {
    other.name_.clear();
  }
  OwnedMemoryCcache& operator=(OwnedMemoryCcache&& other) noexcept {
    if (this != &other) {
      Destroy();
      name_ = std::move(other.name_);
      other.name_.clear();
    }
    return *this;
  }
  OwnedMemoryCcache(const OwnedMemoryCcache&) = delete;
  OwnedMemoryCcache& operator=(const OwnedMemoryCcache&) = delete;
  const std::string& name() const { return name_; }

 private:
  void Destroy() {
    if (name_.empty()) return;
    // A MEMORY cache is shared by name within the process; MIT frees its data when the last
    // handle (a released credential's included) is gone.
    krb5_context ctx = nullptr;
    if (krb5_init_context(&ctx) == 0) {
      DestroyedCcache cache(ctx, name_);
      (void)cache;
    }
    if (ctx != nullptr) krb5_free_context(ctx);
    name_.clear();
  }

  std::string name_;
};

}  // namespace negotiate

#endif  // NEGOTIATE_KRB5_MEMORY_CCACHE_H_
