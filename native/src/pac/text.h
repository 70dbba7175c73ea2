// UTF-16LE (as PAC strings are) to UTF-8, and SIDs to their string form.
#ifndef NEGOTIATE_PAC_TEXT_H_
#define NEGOTIATE_PAC_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace negotiate {
namespace pac {

// `units` UTF-16 code units at `p` (little-endian). Unpaired surrogates become U+FFFD, so the
// result is always valid UTF-8.
std::string Utf16LeToUtf8(const uint8_t* p, size_t units);

struct Sid {
  uint8_t revision = 1;
  uint64_t authority = 0;  // 48 bits
  std::vector<uint32_t> sub_authorities;
};

// "S-1-5-21-a-b-c[-rid]" (MS-DTYP 2.4.2.1); authorities of 2^32 and over are printed in hex.
std::string SidToString(const Sid& sid);

// `domain` (a SID in string form) with `rid` appended: SidToString of the domain SID plus one
// sub-authority, without formatting the domain again for each of its groups.
std::string SidWithRid(const std::string& domain, uint32_t rid);

}  // namespace pac
}  // namespace negotiate

#endif  // NEGOTIATE_PAC_TEXT_H_
