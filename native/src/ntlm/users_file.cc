#include "users_file.h"

#include <strings.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace negotiate {
namespace {

struct UserName {
  std::string domain;  // empty: any domain
  std::string user;
};

// gss-ntlmssp displays "DOMAIN\user", "\user" or "user"; a client may also have sent
// "user@DOMAIN" as the user name.
UserName Split(const std::string& displayed) {
  size_t slash = displayed.find('\\');
  if (slash != std::string::npos) return {displayed.substr(0, slash), displayed.substr(slash + 1)};
  size_t at = displayed.rfind('@');
  if (at != std::string::npos) return {displayed.substr(at + 1), displayed.substr(0, at)};
  return {"", displayed};
}

bool SameIgnoringCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// One line of the users file, in either of gss-ntlmssp's formats: "DOMAIN:user:password"
// (Heimdal) or smbpasswd "[DOMAIN\]user:uid:LM:NT:..." (four or more fields).
bool ParseEntry(std::string line, UserName* out) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.empty() || line[0] == '#') return false;
  size_t c1 = line.find(':');
  if (c1 == std::string::npos) return false;
  size_t c2 = line.find(':', c1 + 1);
  if (c2 == std::string::npos) return false;
  size_t c3 = line.find(':', c2 + 1);
  if (c3 == std::string::npos) {
    *out = {line.substr(0, c1), line.substr(c1 + 1, c2 - c1 - 1)};
    return true;
  }
  if (line.find(':', c3 + 1) == std::string::npos) return false;  // gss-ntlmssp skips these
  std::string name = line.substr(0, c1);
  size_t slash = name.find('\\');
  *out = slash == std::string::npos ? UserName{"", name}
                                    : UserName{name.substr(0, slash), name.substr(slash + 1)};
  return true;
}

}  // namespace

bool CanonicalNtlmName(const std::string& displayed, std::string* canonical) {
  const char* path = std::getenv("NTLM_USER_FILE");
  if (path == nullptr || *path == '\0') return false;
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return false;
  UserName wanted = Split(displayed);
  char buf[1024];
  bool found = false;
  UserName entry;
  while (!found && std::fgets(buf, sizeof buf, f) != nullptr) {
    if (!ParseEntry(buf, &entry)) continue;
    if (!wanted.domain.empty() && !entry.domain.empty() &&
        !SameIgnoringCase(wanted.domain, entry.domain)) {
      continue;
    }
    found = SameIgnoringCase(wanted.user, entry.user);
  }
  std::fclose(f);
  if (!found) return false;
  *canonical = entry.domain.empty() ? entry.user : entry.domain + "\\" + entry.user;
  return true;
}

}  // namespace negotiate
