// Unit checks of the PAC's text forms (native/src/pac/text.cc): SIDs as strings (MS-DTYP
// 2.4.2.1: decimal authority below 2^32, hex at and above it; a SID without sub-authorities),
// a domain SID's string with a RID appended equal to the whole SID formatted, against a
// reference written with snprintf over thousands of random SIDs; UTF-16LE to UTF-8 with
// surrogate pairs and unpaired surrogates. Built and run by test/native/pacTextUnit.test.ts.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "../../../native/src/pac/text.h"
#include "unit_check.h"

using negotiate::pac::Sid;
using negotiate::pac::SidToString;
using negotiate::pac::SidWithRid;
using negotiate::pac::Utf16LeToUtf8;

namespace {

using unit::Check;

Sid MakeSid(uint8_t revision, uint64_t authority, std::vector<uint32_t> subs) {
  Sid s;
  s.revision = revision;
  s.authority = authority;
  s.sub_authorities = std::move(subs);
  return s;
}

// The form spelled out with printf, as a second opinion.
std::string Reference(const Sid& sid) {
  char part[32];
  std::snprintf(part, sizeof part, "S-%u-", static_cast<unsigned>(sid.revision));
  std::string s = part;
  if (sid.authority < (1ull << 32)) {
    std::snprintf(part, sizeof part, "%llu", static_cast<unsigned long long>(sid.authority));
  } else {
    std::snprintf(part, sizeof part, "0x%012llx", static_cast<unsigned long long>(sid.authority));
  }
  s += part;
  for (uint32_t sub : sid.sub_authorities) {
    std::snprintf(part, sizeof part, "-%u", sub);
    s += part;
  }
  return s;
}

void KnownSids() {
  Check(SidToString(MakeSid(1, 5, {21, 1004336348, 1177238915, 682003330, 512})) ==
            "S-1-5-21-1004336348-1177238915-682003330-512",
        "a domain group's SID");
  Check(SidToString(MakeSid(1, 0, {})) == "S-1-0", "no sub-authorities");
  Check(SidToString(MakeSid(1, 1, {0})) == "S-1-1-0", "Everyone");
  Check(SidToString(MakeSid(1, 0xffffffffull, {4294967295u})) == "S-1-4294967295-4294967295",
        "largest decimal authority and sub-authority");
  Check(SidToString(MakeSid(1, 1ull << 32, {7})) == "S-1-0x000100000000-7",
        "authority 2^32 in hex");
  Check(SidToString(MakeSid(1, 0xffffffffffffull, {})) == "S-1-0xffffffffffff",
        "largest authority (48 bits) in hex");
  Check(SidToString(MakeSid(255, 5, {32, 544})) == "S-255-5-32-544", "revision printed as given");
  Check(SidWithRid("S-1-5-21-1-2-3", 1104) == "S-1-5-21-1-2-3-1104", "a RID appended");
  Check(SidWithRid("S-1-5-21-1-2-3", 0) == "S-1-5-21-1-2-3-0", "RID 0");
  Check(SidWithRid("S-1-5-21-1-2-3", 4294967295u) == "S-1-5-21-1-2-3-4294967295", "largest RID");
}

void RandomSids() {
  std::mt19937_64 rng(20261204);
  bool all_equal = true;
  bool with_rid_equal = true;
  for (int i = 0; i < 20000; ++i) {
    uint64_t authority = (rng() % 4 == 0) ? (rng() & 0xffffffffffffull) : (rng() & 0xffffffffull);
    std::vector<uint32_t> subs(rng() % 16);
    for (uint32_t& sub : subs) sub = static_cast<uint32_t>(rng() >> (rng() % 33));
    Sid sid = MakeSid(static_cast<uint8_t>(rng()), authority, subs);
    all_equal = all_equal && SidToString(sid) == Reference(sid);
    uint32_t rid = static_cast<uint32_t>(rng());
    Sid longer = sid;
    longer.sub_authorities.push_back(rid);
    with_rid_equal = with_rid_equal && SidWithRid(SidToString(sid), rid) == Reference(longer);
  }
  Check(all_equal, "20,000 random SIDs: the reference form");
  Check(with_rid_equal, "20,000 random SIDs with a RID: the whole SID's form");
}

// `units` as UTF-16LE bytes, converted.
std::string FromUtf16(const std::vector<uint16_t>& units) {
  std::vector<uint8_t> bytes;
  for (uint16_t u : units) {
    bytes.push_back(static_cast<uint8_t>(u & 0xff));
    bytes.push_back(static_cast<uint8_t>(u >> 8));
  }
  return Utf16LeToUtf8(bytes.data(), units.size());
}

void Utf16Text() {
  Check(FromUtf16({'a', 'l', 'i', 'c', 'e'}) == "alice", "ASCII");
  Check(FromUtf16({0x00e9, 0x20ac}) == "\xc3\xa9\xe2\x82\xac", "two- and three-byte forms");
  Check(FromUtf16({0xd83d, 0xde00}) == "\xf0\x9f\x98\x80", "a surrogate pair");
  Check(FromUtf16({0xd83d, 'x'}) == "\xef\xbf\xbdx", "a lone high surrogate: U+FFFD");
  Check(FromUtf16({0xde00}) == "\xef\xbf\xbd", "a lone low surrogate: U+FFFD");
  Check(FromUtf16({0xd83d}) == "\xef\xbf\xbd", "a high surrogate at the end: U+FFFD");
  Check(FromUtf16({}).empty(), "empty");
}

}  // namespace

int main() {
  KnownSids();
  RandomSids();
  Utf16Text();
  return unit::Report();
}
