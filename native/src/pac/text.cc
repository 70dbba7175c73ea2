#include "text.h"

#include <charconv>
#include <cstdio>

namespace negotiate {
namespace pac {
namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

void AppendDecimal(uint64_t v, std::string* out) {
  char digits[20];
  out->append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
}

}  // namespace

std::string Utf16LeToUtf8(const uint8_t* p, size_t units) {
  std::string out;
  out.reserve(units);
  for (size_t i = 0; i < units; ++i) {
    uint32_t u = p[2 * i] | (p[2 * i + 1] << 8);
    if (u >= 0xd800 && u < 0xdc00 && i + 1 < units) {
      uint32_t low = p[2 * i + 2] | (p[2 * i + 3] << 8);
      if (low >= 0xdc00 && low < 0xe000) {
        AppendUtf8(0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00), &out);
        ++i;
        continue;
      }
    }
    if (u >= 0xd800 && u < 0xe000) u = 0xfffd;
    AppendUtf8(u, &out);
  }
  return out;
}

// An AD user's PAC has a SID per group (often hundreds): formatted into one reserved string,
// without the temporaries of std::to_string and operator+.
std::string SidToString(const Sid& sid) {
  std::string s;
  s.reserve(20 + 11 * sid.sub_authorities.size());
  s += "S-";
  AppendDecimal(sid.revision, &s);
  s += '-';
  if (sid.authority < (1ull << 32)) {
    AppendDecimal(sid.authority, &s);
  } else {
    char hex[20];
    std::snprintf(hex, sizeof hex, "0x%012llx", static_cast<unsigned long long>(sid.authority));
    s += hex;
  }
  for (uint32_t sub : sid.sub_authorities) {
    s += '-';
    AppendDecimal(sub, &s);
  }
  return s;
}

std::string SidWithRid(const std::string& domain, uint32_t rid) {
  std::string s;
  s.reserve(domain.size() + 11);
  s += domain;
  s += '-';
  AppendDecimal(rid, &s);
  return s;
}

}  // namespace pac
}  // namespace negotiate
