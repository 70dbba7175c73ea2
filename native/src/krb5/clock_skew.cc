#include "clock_skew.h"

#include <krb5/krb5.h>
#include <profile.h>

namespace negotiate {

uint32_t ConfiguredClockSkewSeconds() {
  const int kMitDefault = 300;
  krb5_context ctx = nullptr;
  if (krb5_init_context(&ctx) != 0) return kMitDefault;
  int seconds = kMitDefault;
  profile_t profile = nullptr;
  if (krb5_get_profile(ctx, &profile) == 0) {
    if (profile_get_integer(profile, "libdefaults", "clockskew", nullptr, kMitDefault, &seconds) !=
        0) {
      seconds = kMitDefault;
    }
    profile_release(profile);
  }
  krb5_free_context(ctx);
  return seconds > 0 ? static_cast<uint32_t>(seconds) : kMitDefault;
}

}  // namespace negotiate
