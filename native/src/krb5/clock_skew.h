// The clock skew krb5 allows ([libdefaults] clockskew), which bounds how long an accepted
// authenticator stays presentable and so how long the in-memory replay cache keeps its tag.
#ifndef NEGOTIATE_KRB5_CLOCK_SKEW_H_
#define NEGOTIATE_KRB5_CLOCK_SKEW_H_

#include <cstdint>

namespace negotiate {

// Seconds, from the krb5 profile in effect for this process (KRB5_CONFIG); MIT's default of
// 300 when unset or unreadable.
uint32_t ConfiguredClockSkewSeconds();

}  // namespace negotiate

#endif  // NEGOTIATE_KRB5_CLOCK_SKEW_H_
