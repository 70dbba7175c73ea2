// Finds the Kerberos authenticator inside an accept token, for the in-memory replay cache.
// Pure DER walking over the caller's bytes: no allocation, no krb5 calls, every length checked.
#ifndef NEGOTIATE_KRB5_AP_REQ_H_
#define NEGOTIATE_KRB5_AP_REQ_H_

#include <cstddef>
#include <cstdint>

namespace negotiate {

// The AP-REQ's authenticator as sent: EncryptedData { etype, [kvno], cipher }.
struct AuthenticatorCipher {
  int32_t etype = 0;
  const uint8_t* cipher = nullptr;
  size_t cipher_len = 0;
};

// Looks for a Kerberos AP-REQ in `token` and returns its authenticator. Understands a raw
// krb5 GSS token (RFC 4121 framing, TOK_ID 01 00), an initial SPNEGO token whose optimistic
// mechToken is krb5 AND whose first offered mechanism is krb5 (otherwise SPNEGO discards the
// mechToken unread, and a tag from it would be unverified), and an SPNEGO NegTokenResp whose
// responseToken is a krb5 AP-REQ. Returns false for anything else (NTLM, errors, MICs).
bool FindAuthenticatorCipher(const uint8_t* token, size_t len, AuthenticatorCipher* out);

}  // namespace negotiate

#endif  // NEGOTIATE_KRB5_AP_REQ_H_
