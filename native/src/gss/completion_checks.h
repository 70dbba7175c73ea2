// Checks a context must pass once GSSAPI has completed it, before the server reports it: the
// in-memory replay cache and the flags the server requires. Plain C++ over GSSAPI.
#ifndef NEGOTIATE_GSS_COMPLETION_CHECKS_H_
#define NEGOTIATE_GSS_COMPLETION_CHECKS_H_

#include <gssapi/gssapi.h>

#include <string>

#include "status.h"

namespace negotiate {

// The in-memory replay check for a context GSSAPI completed. Returns a non-ok status to fail
// the leg with; then the leg's output token (the AP-REP of a replayed request) must not be sent.
GssStatus CheckReplay(gss_ctx_id_t ctx, const std::string& principal);

// `--require-flags`: the context must carry every required flag, as the client requested them
// (they travel inside the authenticator's checksum, so a peer cannot add or strip them).
GssStatus CheckRequiredFlags(OM_uint32 required, OM_uint32 granted);

}  // namespace negotiate

#endif  // NEGOTIATE_GSS_COMPLETION_CHECKS_H_
