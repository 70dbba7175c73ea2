// The acceptor side of a GSSAPI handshake: credentials from a keytab and one accept step.
// Plain C++ over GSSAPI; nothing here knows about N-API or JavaScript.
#ifndef NEGOTIATE_GSS_ACCEPTOR_H_
#define NEGOTIATE_GSS_ACCEPTOR_H_

#include <gssapi/gssapi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../identity/identity.h"
#include "../krb5/memory_ccache.h"
#include "../pac/pac_info.h"
#include "handles.h"
#include "status.h"

namespace negotiate {

struct AcceptorConfig {
  std::string keytab;        // path; empty means the library default (KRB5_KTNAME)
  std::string principal;     // pinned acceptor name; empty accepts any key in the keytab
  bool ntlm = false;         // also accept NTLM (raw and through SPNEGO)
  std::string replay_cache;  // "" (library default), "none:", "file2:/path", "dfl:"
  // MIT's cache off ("none:") and ReplayCache (process-wide, in memory) checked after each accept.
  bool memory_replay_cache = false;
  // MIT's cache off ("none:") and the shared tag (replay_tag.h) of each completed krb5 context
  // reported, for the caller to check against a replay store shared by several servers (Redis).
  bool shared_replay_tag = false;
  // GSS flags (GSS_C_MUTUAL_FLAG, ...) a context must carry to complete; 0 requires none.
  OM_uint32 required_flags = 0;
  // S4U2Proxy at accept time: the credential also initiates (GSS_C_BOTH), its TGT got from the
  // keytab used as client keytab into a private MEMORY ccache, so a client that forwarded no
  // TGT yields a proxy credential (src/s4u/proxy_cred.h). Not with NTLM (no cred store there).
  bool s4u2proxy = false;
  // Local name, service principal and delegated credentials of completed contexts.
  IdentityOptions identity;
};

// Which mechanism a context runs, as the TypeScript layer names it.
enum class Mech { kUnknown, kKrb5, kNtlm };
const char* MechName(Mech mech);
Mech MechFromOid(gss_OID oid);

// An acceptor credential for one thread. MIT serialises accepts on a shared credential handle,
// so each worker thread owns one of these.
class AcceptorCredential {
 public:
  // Acquires the credential; on failure returns a non-ok status and leaves `out` empty.
  static GssStatus Acquire(const AcceptorConfig& config, AcceptorCredential* out);

  gss_cred_id_t get() const { return cred_.get(); }
  bool valid() const { return cred_.get() != GSS_C_NO_CREDENTIAL; }
  bool ntlm() const { return ntlm_; }
  bool memory_replay_cache() const { return memory_replay_cache_; }
  bool shared_replay_tag() const { return shared_replay_tag_; }
  bool s4u2proxy() const { return s4u2proxy_; }
  OM_uint32 required_flags() const { return required_flags_; }
  OM_uint32 clock_skew_seconds() const { return clock_skew_seconds_; }
  const IdentityOptions& identity() const { return identity_; }

 private:
  // The S4U2Proxy credential's TGT cache, declared before cred_ so it outlives the credential.
  OwnedMemoryCcache proxy_tgt_ccache_;
  GssCred cred_;
  bool ntlm_ = false;
  bool memory_replay_cache_ = false;
  bool shared_replay_tag_ = false;
  bool s4u2proxy_ = false;
  OM_uint32 required_flags_ = 0;
  OM_uint32 clock_skew_seconds_ = 300;  // krb5.conf's, read once per credential
  IdentityOptions identity_;
};

// Context flags reported to the application (GSS ret_flags).
struct ContextFlags {
  OM_uint32 bits = 0;
};

// What one accept step produced.
struct AcceptOutcome {
  enum class Kind { kContinue, kComplete, kError } kind = Kind::kError;
  std::vector<uint8_t> output;  // token to send (may be empty); on error, the error token if any
  GssStatus status;             // set when kind == kError
  // Set when kind == kComplete:
  std::string principal;
  Mech mech = Mech::kUnknown;
  OM_uint32 flags = 0;
  // Seconds until the ticket ends (krb5) or the context expires; GSS_C_INDEFINITE when it does
  // not. 0 for a ticket that has already ended but is still inside the clock-skew margin.
  OM_uint32 lifetime_seconds = 0;
  // krb5 only: the ticket's verified PAC (has_pac), or why a PAC that is there was not used.
  bool has_pac = false;
  pac::PacInfo pac;
  std::string pac_refused;
  // With shared_replay_tag, for a krb5 context: the tag the caller must find absent from the
  // shared replay store (and record there) before it reports the handshake complete.
  std::string replay_tag;
  std::string replay_service;
  uint64_t replay_window_ms = 0;  // how long the store keeps the tag: twice the clock skew
  // What the credential's IdentityOptions asked for (local name, delegated credential).
  IdentityOutcome identity;
};

// The acceptor's channel bindings for one leg (RFC 5744/5929): only the application data, which
// for TLS is "tls-server-end-point:" + the hash of the server's certificate, computed by the
// caller. The addresses are GSS_C_AF_UNSPEC and empty, as RFC 5929 and every HTTP client expect.
// The bytes are borrowed: they must outlive the AcceptStep call.
struct AcceptorBindings {
  const uint8_t* application_data = nullptr;  // nullptr: GSS_C_NO_CHANNEL_BINDINGS
  size_t length = 0;
  // Refuse a completed context that is not channel-bound (no GSS_C_CHANNEL_BOUND_FLAG): MIT
  // (1.19+) accepts a client that sent no bindings, reporting it only through that flag.
  bool required = false;
};

// Runs one gss_accept_sec_context leg on `ctx`, which starts empty for the first leg. With the
// in-memory replay cache, a krb5 context that completes is checked and recorded there first.
// Bindings that do not match the client's fail the leg with ERR_CHANNEL_BINDING_MISMATCH.
AcceptOutcome AcceptStep(const AcceptorCredential& cred, SecurityContext* ctx, const uint8_t* token,
                         size_t token_len, const AcceptorBindings& bindings = AcceptorBindings{});

// True when the token is a raw NTLMSSP message ("NTLMSSP\0" signature).
bool IsRawNtlmToken(const uint8_t* token, size_t len);
// True when the token is an initial SPNEGO token (GSS framing with the SPNEGO OID).
bool IsSpnegoInitialToken(const uint8_t* token, size_t len);

}  // namespace negotiate

#endif  // NEGOTIATE_GSS_ACCEPTOR_H_
