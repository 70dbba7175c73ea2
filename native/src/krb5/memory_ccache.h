// MEMORY ccaches for credentials that must not outlive a call: a process-unique name and an
// owner that destroys (not just closes) the cache, since a MEMORY cache lives until destroyed.
#ifndef NEGOTIATE_KRB5_MEMORY_CCACHE_H_
#define NEGOTIATE_KRB5_MEMORY_CCACHE_H_

#include <krb5/krb5.h>
#include <unistd.h>

#include <atomic>
#include <string>

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

}  // namespace negotiate

#endif  // NEGOTIATE_KRB5_MEMORY_CCACHE_H_
