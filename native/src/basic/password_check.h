// A user name and password checked the way mod_auth_gssapi's GssapiBasicAuth (mech krb5) does:
// a real AS exchange with the KDC for the user, then the ticket's issuer proven by verifying a
// ticket for the service against the service's own key from its keytab, so a KDC that does not
// know that key (a fake one, answering for any password) cannot vouch for the user. Plain C++
// over krb5; nothing here knows about N-API. Nothing is stored: the tickets die with the call.
#ifndef NEGOTIATE_BASIC_PASSWORD_CHECK_H_
#define NEGOTIATE_BASIC_PASSWORD_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "../gss/status.h"

namespace negotiate {

struct PasswordCheckRequest {
  std::string user;         // "alice" (the default realm is added) or "alice@EXAMPLE.COM"
  const uint8_t* password;  // not NUL-terminated; the caller owns (and zeroes) it
  size_t password_size = 0;
  std::string keytab;  // the service's keytab; "" = the default (KRB5_KTNAME)
  std::string server;  // the service principal to verify against; "" = any key in the keytab
};

struct CheckedUser {
  std::string principal;      // the client's canonical name, as the KDC issued the ticket
  std::string local_name;     // krb5_aname_to_localname (auth_to_local rules); "" when none maps
  std::string default_realm;  // krb5.conf's default realm ("" when none): strip-realm's test
  int64_t end_time = 0;       // when the TGT would end, seconds since the epoch
};

// Checks `request`; on success fills `*user`. Failure codes: ERR_BASIC_BAD_PASSWORD,
// ERR_BASIC_UNKNOWN_PRINCIPAL, ERR_BASIC_PASSWORD_EXPIRED, ERR_BASIC_KDC_UNREACHABLE,
// ERR_BASIC_VERIFY_FAILED (the reply did not prove itself with the service key), ERR_BASIC_BAD_NAME
// (not a principal name), ERR_BASIC_REFUSED (anything else the KDC said). Talks to the KDC: call it
// on a worker thread.
GssStatus CheckPassword(const PasswordCheckRequest& request, CheckedUser* user);

}  // namespace negotiate

#endif  // NEGOTIATE_BASIC_PASSWORD_CHECK_H_
