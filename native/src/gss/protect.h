// Message protection on an established context: wrap/unwrap, MIC, and the SSPI
// EncryptMessage layout ([TOKEN = security trailer][DATA = ciphertext]).
#ifndef NEGOTIATE_GSS_PROTECT_H_
#define NEGOTIATE_GSS_PROTECT_H_

#include <gssapi/gssapi.h>

#include <cstdint>
#include <vector>

#include "acceptor.h"
#include "status.h"

namespace negotiate {

struct Bytes {
  const uint8_t* data;
  size_t size;
};

GssStatus Wrap(gss_ctx_id_t ctx, Bytes message, bool confidential, std::vector<uint8_t>* out,
               bool* conf_applied);
// Any non-COMPLETE status (including the supplementary duplicate/old/unseq/gap bits) is a
// failure: a replayed or reordered message must never reach the application.
GssStatus Unwrap(gss_ctx_id_t ctx, Bytes token, std::vector<uint8_t>* out, bool* confidential);
GssStatus GetMic(gss_ctx_id_t ctx, Bytes message, std::vector<uint8_t>* out);
GssStatus VerifyMic(gss_ctx_id_t ctx, Bytes message, Bytes mic);

// EncryptMessage([TOKEN, DATA]) equivalent: the trailer and the ciphertext as SSPI lays them
// out. Kerberos uses gss_wrap_iov (the trailer travels in the header thanks to RRC); NTLM has
// no wrap_iov, and its gss_wrap output is signature(16) followed by the sealed data.
GssStatus EncryptMessage(gss_ctx_id_t ctx, Mech mech, Bytes message, std::vector<uint8_t>* trailer,
                         std::vector<uint8_t>* ciphertext);

}  // namespace negotiate

#endif  // NEGOTIATE_GSS_PROTECT_H_
