// The canonical name of an NTLM user: the users-file entry gss-ntlmssp authenticated, spelt as
// the file spells it. gss-ntlmssp finds the entry without regard to case and with or without a
// domain, but reports the name as the client typed it ("alice", "ALICE", "\alice",
// "alice@DOMAIN"); access lists compare exact strings, so the server reports the entry instead.
#ifndef NEGOTIATE_NTLM_USERS_FILE_H_
#define NEGOTIATE_NTLM_USERS_FILE_H_

#include <string>

namespace negotiate {

// Looks `displayed` up in the users file named by NTLM_USER_FILE (gss-ntlmssp's own setting),
// with gss-ntlmssp's rules (first entry whose user, and domain when both have one, match
// without regard to ASCII case), and returns "DOMAIN\user" from that entry (just "user" for an
// entry without a domain). False when there is no file or no entry matches.
bool CanonicalNtlmName(const std::string& displayed, std::string* canonical);

}  // namespace negotiate

#endif  // NEGOTIATE_NTLM_USERS_FILE_H_
