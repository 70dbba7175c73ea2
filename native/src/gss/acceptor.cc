#include "acceptor.h"

#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include <cstring>

#include "../krb5/clock_skew.h"
#include "../krb5/memory_ccache.h"
#include "../ntlm/users_file.h"
#include "../pac/gss_pac.h"
#include "../replay/replay_tag.h"
#include "../s4u/proxy_cred.h"
#include "completion_checks.h"
#include "neg_token_resp.h"

namespace negotiate {
namespace {

// OIDs spelled out here because gss-ntlmssp's and SPNEGO's are not exported by MIT's headers
// under stable names.
gss_OID_desc kSpnegoOid = {6, const_cast<char*>("\x2b\x06\x01\x05\x05\x02")};
gss_OID_desc kKrb5Oid = {9, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02")};
// The OID Microsoft's Kerberos uses in SPNEGO mech lists (1.2.840.48018.1.2.2).
gss_OID_desc kMsKrb5Oid = {9, const_cast<char*>("\x2a\x86\x48\x82\xf7\x12\x01\x02\x02")};
gss_OID_desc kNtlmOid = {10, const_cast<char*>("\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a")};

const char kNoTicketMessage[] =
    "accept: the SPNEGO opening carried no Kerberos token: the client has no Kerberos ticket "
    "for this service (connect by the host name the service principal names, not by IP "
    "address or an alias; NTLM is off)";

// Whether an SPNEGO opening lists NTLMSSP among its mechanisms. Only chooses the wording of a
// refusal, so a plain search for the DER OID is enough.
bool OffersNtlm(const uint8_t* token, size_t len) {
  static const uint8_t kDerNtlmOid[] = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
                                        0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
  if (len < sizeof kDerNtlmOid) return false;
  for (size_t i = 0; i + sizeof kDerNtlmOid <= len; ++i) {
    if (std::memcmp(token + i, kDerNtlmOid, sizeof kDerNtlmOid) == 0) return true;
  }
  return false;
}

bool OidEquals(gss_OID a, const gss_OID_desc& b) {
  return a != GSS_C_NO_OID && a->length == b.length &&
         std::memcmp(a->elements, b.elements, b.length) == 0;
}

GssStatus ImportAcceptorName(const std::string& principal, GssName* name) {
  // "service@host" is the host-based form (RFC 2743); anything with a '/' is a krb5 principal
  // such as "HTTP/www.example.com@EXAMPLE.COM".
  gss_OID type = principal.find('/') == std::string::npos ? GSS_C_NT_HOSTBASED_SERVICE
                                                          : GSS_KRB5_NT_PRINCIPAL_NAME;
  gss_buffer_desc buf;
  buf.value = const_cast<char*>(principal.data());
  buf.length = principal.size();
  OM_uint32 minor = 0;
  OM_uint32 major = gss_import_name(&minor, &buf, type, name->out());
  if (GSS_ERROR(major)) return MakeGssStatus("import acceptor name", major, minor, GSS_C_NO_OID);
  return GssStatus{};
}

}  // namespace

const char* MechName(Mech mech) {
  switch (mech) {
    case Mech::kKrb5:
      return "krb5";
    case Mech::kNtlm:
      return "ntlmssp";
    default:
      return "unknown";
  }
}

Mech MechFromOid(gss_OID oid) {
  if (OidEquals(oid, kKrb5Oid) || OidEquals(oid, kMsKrb5Oid)) return Mech::kKrb5;
  if (OidEquals(oid, kNtlmOid)) return Mech::kNtlm;
  return Mech::kUnknown;
}

bool IsRawNtlmToken(const uint8_t* token, size_t len) {
  return len >= 8 && std::memcmp(token, "NTLMSSP\0", 8) == 0;
}

bool IsSpnegoInitialToken(const uint8_t* token, size_t len) {
  // [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID, ... }: 0x60, DER length, 0x06, oid len.
  if (len < 2 || token[0] != 0x60) return false;
  size_t pos = 1;
  uint8_t l = token[pos++];
  if (l & 0x80) pos += l & 0x7f;
  if (pos + 2 + kSpnegoOid.length > len || token[pos] != 0x06 ||
      token[pos + 1] != kSpnegoOid.length) {
    return false;
  }
  return std::memcmp(token + pos + 2, kSpnegoOid.elements, kSpnegoOid.length) == 0;
}

GssStatus AcceptorCredential::Acquire(const AcceptorConfig& config, AcceptorCredential* out) {
  OM_uint32 minor = 0;
  OM_uint32 major = 0;

  GssName name;
  if (!config.principal.empty()) {
    GssStatus st = ImportAcceptorName(config.principal, &name);
    if (!st.ok()) return st;
  }

  // SPNEGO for negotiated tokens, krb5 for raw Kerberos tokens (gss-client -krb5, most
  // GSSAPI services), and NTLM only when enabled: without an NTLM element in the credential,
  // a raw NTLMSSP token has no mechanism to go to.
  GssOidSet mechs;
  for (gss_OID oid : {&kSpnegoOid, &kKrb5Oid}) {
    major = mechs.Add(oid, &minor);
    if (GSS_ERROR(major)) return MakeGssStatus("build mechanism set", major, minor, GSS_C_NO_OID);
  }
  if (config.ntlm) {
    major = mechs.Add(&kNtlmOid, &minor);
    if (GSS_ERROR(major)) return MakeGssStatus("build mechanism set", major, minor, GSS_C_NO_OID);
  }

  // Before `cred`, so an early return releases the credential first, then destroys its cache.
  OwnedMemoryCcache tgt_ccache;
  GssCred cred;
  if (config.ntlm) {
    // gss-ntlmssp 1.2 (Debian 12) builds a broken acceptor credential when given any cred
    // store, and the process crashes on the first NTLM token; SPNEGO passes its store on to
    // every mechanism it wraps. So with NTLM the keytab is registered process-wide and the
    // replay cache comes from KRB5RCACHENAME (set by the TypeScript layer before any worker
    // starts), and the credential is acquired without a store.
    if (!config.keytab.empty()) {
      major = gsskrb5_register_acceptor_identity(config.keytab.c_str());
      if (GSS_ERROR(major)) {
        return MakeGssStatus("register acceptor keytab", major, 0, &kKrb5Oid);
      }
    }
    major = gss_acquire_cred(&minor, name.get(), GSS_C_INDEFINITE, mechs.get(), GSS_C_ACCEPT,
                             cred.out(), nullptr, /* actual_mechs */
                             nullptr /* time_rec */);
  } else {
    gss_key_value_element_desc elements[4];
    OM_uint32 count = 0;
    if (!config.keytab.empty()) {
      elements[count].key = "keytab";
      elements[count].value = config.keytab.c_str();
      ++count;
    }
    if (!config.replay_cache.empty()) {
      elements[count].key = "rcache";
      elements[count].value = config.replay_cache.c_str();
      ++count;
    }
    // The initiator half of an S4U2Proxy credential: the service's TGT, got with the keytab's
    // keys (as mod_auth_gssapi's GssapiUseS4U2Proxy with client_keytab), kept in a MEMORY
    // ccache of this credential's own, so no file holds it and no other credential shares it.
    if (config.s4u2proxy) {
      if (!config.keytab.empty()) {
        elements[count].key = "client_keytab";
        elements[count].value = config.keytab.c_str();
        ++count;
      }
      tgt_ccache = OwnedMemoryCcache(ProxyTgtCcacheName());
      elements[count].key = "ccache";
      elements[count].value = tgt_ccache.name().c_str();
      ++count;
    }
    gss_key_value_set_desc store = {count, elements};
    major = gss_acquire_cred_from(&minor, name.get(), GSS_C_INDEFINITE, mechs.get(),
                                  config.s4u2proxy ? GSS_C_BOTH : GSS_C_ACCEPT, &store, cred.out(),
                                  nullptr, /* actual_mechs */
                                  nullptr /* time_rec */);
  }
  if (GSS_ERROR(major)) {
    return MakeGssStatus("acquire acceptor credential", major, minor, &kKrb5Oid);
  }

  // What SPNEGO may negotiate. Without this, SPNEGO offers every mechanism installed on the
  // host (gss-ntlmssp included), which would make NTLM reachable even when disabled.
  GssOidSet neg;
  major = neg.Add(&kKrb5Oid, &minor);
  if (!GSS_ERROR(major) && config.ntlm) major = neg.Add(&kNtlmOid, &minor);
  if (GSS_ERROR(major)) return MakeGssStatus("build mechanism set", major, minor, GSS_C_NO_OID);
  major = gss_set_neg_mechs(&minor, cred.get(), neg.get());
  if (GSS_ERROR(major)) {
    return MakeGssStatus("restrict SPNEGO mechanisms", major, minor, GSS_C_NO_OID);
  }

  out->cred_ = std::move(cred);
  out->proxy_tgt_ccache_ = std::move(tgt_ccache);
  out->ntlm_ = config.ntlm;
  out->memory_replay_cache_ = config.memory_replay_cache;
  out->shared_replay_tag_ = config.shared_replay_tag;
  out->s4u2proxy_ = config.s4u2proxy && !config.ntlm;
  out->required_flags_ = config.required_flags;
  out->clock_skew_seconds_ = ConfiguredClockSkewSeconds();
  out->identity_ = config.identity;
  return GssStatus{};
}

namespace {

// Channel binding `required`: the context completed without the client's bindings matching
// ours (it sent none: MIT 1.19+ accepts that and only leaves GSS_C_CHANNEL_BOUND_FLAG unset).
GssStatus CheckChannelBound(const AcceptorBindings& bindings, OM_uint32 granted) {
  if (!bindings.required || (granted & GSS_C_CHANNEL_BOUND_FLAG) != 0) return GssStatus{};
  GssStatus st = MakeStatus(
      "ERR_CHANNEL_BINDING_REQUIRED",
      bindings.application_data == nullptr
          ? "accept: channel binding is required but this connection has no TLS channel to bind"
          : "accept: the client sent no channel bindings (Extended Protection), which this server "
            "requires (--channel-binding required)");
  st.major = GSS_S_BAD_BINDINGS;
  return st;
}

}  // namespace

AcceptOutcome AcceptStep(const AcceptorCredential& cred, SecurityContext* ctx, const uint8_t* token,
                         size_t token_len, const AcceptorBindings& bindings) {
  AcceptOutcome outcome;
  if (!cred.ntlm() && IsRawNtlmToken(token, token_len)) {
    // Refuse before GSSAPI sees it, so the reason is ours and not "no credentials".
    outcome.status = MakeStatus("ERR_GSS_MECH_DISABLED",
                                "accept: NTLM is disabled on this server (enable it with --ntlm)");
    outcome.status.major = GSS_S_BAD_MECH;
    return outcome;
  }

  gss_buffer_desc input;
  input.value = const_cast<uint8_t*>(token);
  input.length = token_len;
  GssName src_name;
  gss_OID mech_type = GSS_C_NO_OID;
  GssBuffer output;
  OM_uint32 ret_flags = 0;
  OM_uint32 time_rec = 0;
  GssCred delegated;
  // Empty addresses of type GSS_C_AF_UNSPEC, as RFC 5929 initiators (Windows SSPI, GSSAPI
  // callers such as python-gssapi) send them: the krb5 mechanism checksums the whole
  // structure, addresses included.
  gss_channel_bindings_struct cb{};
  cb.initiator_addrtype = GSS_C_AF_UNSPEC;
  cb.acceptor_addrtype = GSS_C_AF_UNSPEC;
  cb.application_data.value = const_cast<uint8_t*>(bindings.application_data);
  cb.application_data.length = bindings.length;
  gss_channel_bindings_t cbp =
      bindings.application_data == nullptr ? GSS_C_NO_CHANNEL_BINDINGS : &cb;
  OM_uint32 minor = 0;
  OM_uint32 major =
      gss_accept_sec_context(&minor, ctx->inout(), cred.get(), &input, cbp, src_name.out(),
                             &mech_type, output.get(), &ret_flags, &time_rec, delegated.out());
  if (!output.empty()) {
    const uint8_t* p = static_cast<const uint8_t*>(output.data());
    outcome.output.assign(p, p + output.size());
  }
  if (GSS_ERROR(major)) {
    outcome.status = MakeGssStatus("accept", major, minor, mech_type);
    if (GSS_ROUTINE_ERROR(major) == GSS_S_BAD_MECH && !cred.ntlm() &&
        IsSpnegoInitialToken(token, token_len) && OffersNtlm(token, token_len)) {
      // Not an NTLM client as such: SPNEGO initiators fall back to NTLM when they cannot get a
      // Kerberos ticket for the name they connected to.
      outcome.status.code = "ERR_GSS_NO_KERBEROS_TOKEN";
      outcome.status.message = std::string(kNoTicketMessage) + " (it offered only NTLM)";
    } else if (GSS_ROUTINE_ERROR(major) == GSS_S_BAD_BINDINGS && cbp != GSS_C_NO_CHANNEL_BINDINGS) {
      // The client bound its token to another TLS channel: a man in the middle terminated the
      // client's TLS and relays its token over its own connection to us. Never accepted.
      outcome.status.code = "ERR_CHANNEL_BINDING_MISMATCH";
      outcome.status.message =
          "accept: the client's channel bindings are for another TLS certificate than this "
          "server's (a TLS-terminating proxy or a man in the middle between them); refused";
    }
    return outcome;
  }
  if (major & GSS_S_CONTINUE_NEEDED) {
    if (outcome.output.empty()) {
      // Wanting another token with none to send can never progress: the peer waits for ours
      // while we wait for its next one, until the handshake deadline. MIT answers so
      // (minor KRB5KRB_AP_ERR_MSG_TYPE) to a token with the krb5 OID whose TOK_ID is not an
      // AP-REQ. Refused as the defective token it is.
      outcome.status = MakeStatus("ERR_GSS_DEFECTIVE_TOKEN",
                                  "accept: the mechanism wants another token but produced none to "
                                  "send: not a valid initial token");
      outcome.status.major = GSS_S_DEFECTIVE_TOKEN;
      return outcome;
    }
    if (!cred.ntlm() &&
        IsNegTokenRespWithoutMechToken(outcome.output.data(), outcome.output.size())) {
      // SPNEGO wants a Kerberos token the opening did not carry. With Kerberos the only
      // mechanism, a client that has a ticket sends it at once; one without a ticket (a client
      // that connected by IP address, or to a host name the service principal does not name)
      // never will, and waiting would hold a context until the deadline.
      outcome.output.clear();
      outcome.status = MakeStatus("ERR_GSS_NO_KERBEROS_TOKEN", kNoTicketMessage);
      outcome.status.major = GSS_S_BAD_MECH;
      return outcome;
    }
    outcome.kind = AcceptOutcome::Kind::kContinue;
    return outcome;
  }

  GssBuffer display;
  major = gss_display_name(&minor, src_name.get(), display.get(), nullptr);
  if (GSS_ERROR(major)) {
    outcome.status = MakeGssStatus("display client name", major, minor, mech_type);
    return outcome;
  }
  outcome.kind = AcceptOutcome::Kind::kComplete;
  outcome.principal.assign(static_cast<const char*>(display.data()), display.size());
  // gss-ntlmssp counts a trailing NUL in the displayed name.
  while (!outcome.principal.empty() && outcome.principal.back() == '\0') {
    outcome.principal.pop_back();
  }
  outcome.mech = MechFromOid(mech_type);
  if (outcome.mech == Mech::kNtlm) {
    std::string canonical;
    if (CanonicalNtlmName(outcome.principal, &canonical)) outcome.principal = canonical;
  }
  // With S4U2Proxy on, MIT sets GSS_C_DELEG_FLAG for every client, and the credential it
  // returns is a forwarded TGT only if the client forwarded one. flags.delegation (and
  // --require-flags delegation) keep meaning "the client delegated".
  DelegationKind kind = DelegationKind::kForwarded;
  if (cred.s4u2proxy() && delegated.get() != GSS_C_NO_CREDENTIAL) {
    bool proxy = false;
    GssStatus st = IsProxyCredential(delegated.get(), &proxy);
    if (!st.ok()) {
      // Unknown kind: never reported as the client's TGT, and not kept.
      proxy = true;
      outcome.identity.delegation_refused = st.message;
      delegated.Reset();
    }
    if (proxy) {
      kind = DelegationKind::kConstrained;
      ret_flags &= ~static_cast<OM_uint32>(GSS_C_DELEG_FLAG);
    }
  }
  GssStatus refusal = CheckRequiredFlags(cred.required_flags(), ret_flags);
  if (refusal.ok()) refusal = CheckChannelBound(bindings, ret_flags);
  // Recorded only now, for the AP-REQ that completed the context: nothing a peer sends before
  // it has authenticated is stored.
  if (refusal.ok() && cred.memory_replay_cache() && outcome.mech == Mech::kKrb5) {
    refusal = CheckReplay(ctx->get(), outcome.principal);
  }
  if (refusal.ok() && cred.shared_replay_tag() && outcome.mech == Mech::kKrb5) {
    SharedReplayTag shared;
    refusal = SharedReplayTagOfContext(ctx->get(), outcome.principal, &shared);
    // Fail closed: without the tag the handshake would skip replay detection.
    if (!refusal.ok()) refusal.message += " (needed for the shared replay check; refused)";
    outcome.replay_tag = std::move(shared.tag);
    outcome.replay_service = std::move(shared.service);
    // As the memory cache's window (replay_cache.h): the skew on either side of now.
    outcome.replay_window_ms = uint64_t{2} * cred.clock_skew_seconds() * 1000;
  }
  if (!refusal.ok()) {
    // The output (an AP-REP) must not reach a client that is refused.
    outcome.kind = AcceptOutcome::Kind::kError;
    outcome.output.clear();
    outcome.principal.clear();
    outcome.status = refusal;
    return outcome;
  }
  outcome.flags = ret_flags;
  outcome.lifetime_seconds = time_rec;
  if (outcome.mech == Mech::kKrb5 && time_rec != GSS_C_INDEFINITE) {
    // MIT reports the ticket's end plus the clock skew it tolerates (a ticket that ended 8 s
    // ago still accepts, with skew - 8 s left). What the server grants on top (a session
    // cookie) must end with the ticket itself.
    OM_uint32 skew = cred.clock_skew_seconds();
    outcome.lifetime_seconds = time_rec > skew ? time_rec - skew : 0;
  }
  if (outcome.mech == Mech::kKrb5) {
    // Read from the name accept returned (src_name), which carries the ticket's authorization
    // data; MIT reports a PAC buffer authenticated only after checking its server signature.
    pac::PacRead read =
        pac::ReadPac(src_name.get(), outcome.principal, &outcome.pac, &outcome.pac_refused);
    outcome.has_pac = read == pac::PacRead::kUsed;
  }
  // A delegated credential is stored only with a delegation directory (a new file that the
  // TypeScript layer names and owns); either way `delegated` releases the handle here.
  bool has_delegated = (ret_flags & GSS_C_DELEG_FLAG) != 0 || kind == DelegationKind::kConstrained;
  CompleteIdentity(cred.identity(), ctx->get(), src_name.get(), mech_type,
                   outcome.mech == Mech::kKrb5,
                   has_delegated ? delegated.get() : GSS_C_NO_CREDENTIAL, kind, &outcome.identity);
  return outcome;
}

}  // namespace negotiate
