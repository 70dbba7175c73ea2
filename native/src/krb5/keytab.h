// Reads the principal names in a keytab, so a server can refuse to start on an empty keytab or
// on a pinned principal that has no key, instead of failing every handshake later.
#ifndef NEGOTIATE_KRB5_KEYTAB_H_
#define NEGOTIATE_KRB5_KEYTAB_H_

#include <string>
#include <vector>

namespace negotiate {

struct KeytabListing {
  bool ok = false;
  std::string error;                    // krb5's message when !ok
  std::vector<std::string> principals;  // unique, in keytab order
};

KeytabListing ListKeytab(const std::string& path);

}  // namespace negotiate

#endif  // NEGOTIATE_KRB5_KEYTAB_H_
