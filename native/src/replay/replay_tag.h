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
// under it. The tag is a keyed hash of them (SipHash under the keys of tag_keys.h: random per
// process, or kept by the replay journal): the key material never leaves the worker that
// computed it.
#ifndef NEGOTIATE_REPLAY_REPLAY_TAG_H_
#define NEGOTIATE_REPLAY_REPLAY_TAG_H_

#include <gssapi/gssapi.h>

#include <cstddef>
#include <string>

#include "../gss/status.h"
#include "tag_set.h"

namespace negotiate {

// The tag of a complete krb5 context (raw or inside SPNEGO) and the hash its principal's quota
// is counted under. Fails (non-ok status) when the context cannot be inquired.
GssStatus ReplayTagOfContext(gss_ctx_id_t ctx, const std::string& principal, ReplayTag* tag,
                             uint64_t* principal_hash);

// The shared tag of a complete krb5 context, for a replay store that several servers share
// (Redis): the same authenticator gives the same tag on every server with the same keytab, so
// it cannot be a hash under a per-process key. It is krb5's PRF (RFC 3961) keyed with the
// context key, over the fields above: computable only by whoever holds that key (the client and
// a server that accepted the authenticator), and it says nothing about the key or the token.
// `tag` is the PRF's first kSharedTagBytes in lower-case hex; `service` the accepting
// principal, under which the store keeps it.
constexpr size_t kSharedTagBytes = 16;
struct SharedReplayTag {
  std::string tag;
  std::string service;
};
GssStatus SharedReplayTagOfContext(gss_ctx_id_t ctx, const std::string& principal,
                                   SharedReplayTag* out);

}  // namespace negotiate

#endif  // NEGOTIATE_REPLAY_REPLAY_TAG_H_
