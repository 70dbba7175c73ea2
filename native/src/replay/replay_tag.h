// The replay tag of an accepted Kerberos context, read from what GSSAPI decrypted and verified,
// never from the raw token: a second parser of the AP-REQ can be made to disagree with MIT's
// decoder by bytes an attacker chooses (high-tag-number forms, trailing elements, fields out of
// order), and then records one authenticator while MIT accepts another.
//
// What identifies an authenticator after MIT has accepted it: the client principal, the context
// key (the authenticator's subkey, which every Kerberos GSS initiator generates afresh, or the
// ticket's session key when a client sends none) and the authenticator's sequence number, as
// the lucid form of the context reports them before any message is processed. An attacker can
// change none of them without the session key: the authenticator is encrypted and checksummed
// under it. The tag is a keyed hash of them (SipHash, per-process random key): the key material
// never leaves the worker that computed it.
#ifndef NEGOTIATE_REPLAY_REPLAY_TAG_H_
#define NEGOTIATE_REPLAY_REPLAY_TAG_H_

#include <gssapi/gssapi.h>

#include <string>

#include "../gss/status.h"
#include "tag_set.h"

namespace negotiate {

// The tag of a complete krb5 context (raw or inside SPNEGO) and the hash its principal's quota
// is counted under. Fails (non-ok status) when the context cannot be inquired.
GssStatus ReplayTagOfContext(gss_ctx_id_t ctx, const std::string& principal, ReplayTag* tag,
                             uint64_t* principal_hash);

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_REPLAY_TAG_H_
