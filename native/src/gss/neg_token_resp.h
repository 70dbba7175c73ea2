// Reads the one thing the acceptor needs to know about a NegTokenResp that MIT's SPNEGO built
// (never a peer's bytes): whether it carries a mechanism token.
#ifndef NEGOTIATE_GSS_NEG_TOKEN_RESP_H_
#define NEGOTIATE_GSS_NEG_TOKEN_RESP_H_

#include <cstddef>
#include <cstdint>

namespace negotiate {

// True when `token` is a NegTokenResp ([1] SEQUENCE, RFC 4178 §4.2.2) without responseToken [2]:
// SPNEGO answering "continue" while no mechanism has produced anything.
bool IsNegTokenRespWithoutMechToken(const uint8_t* token, size_t len);

}  // namespace negotiate

#endif  // NEGOTIATE_GSS_NEG_TOKEN_RESP_H_
