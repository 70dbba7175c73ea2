#include "replay_tag.h"

#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include <cstring>
#include <vector>

#include "../gss/handles.h"
#include "../krb5/krb5_handles.h"
#include "siphash.h"
#include "tag_keys.h"

namespace negotiate {
namespace {

// GSS_KRB5_EXPORT_LUCID_SEC_CONTEXT_OID (1.2.840.113554.1.2.2.5.6) with version 1 appended, as
// gss_krb5_export_lucid_sec_context composes it. That function also deletes the context, so
// the inquiry is made directly.
gss_OID_desc kLucidV1Oid = {12,
                            const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x06\x01")};

// Owns what the lucid inquiry returns: the buffer set, and the lucid context it points to
// (gss_krb5_free_lucid_sec_context wipes the key material).
class LucidContext {
 public:
  ~LucidContext() {
    OM_uint32 minor = 0;
    if (lucid_ != nullptr) gss_krb5_free_lucid_sec_context(&minor, lucid_);
    if (set_ != GSS_C_NO_BUFFER_SET) gss_release_buffer_set(&minor, &set_);
  }
  GssStatus Inquire(gss_ctx_id_t ctx) {
    OM_uint32 minor = 0;
    OM_uint32 major = gss_inquire_sec_context_by_oid(&minor, ctx, &kLucidV1Oid, &set_);
    if (GSS_ERROR(major))
      return MakeGssStatus("read the accepted context", major, minor, GSS_C_NO_OID);
    if (set_ == GSS_C_NO_BUFFER_SET || set_->count != 1 ||
        set_->elements[0].length != sizeof(void*)) {
      return MakeStatus("ERR_GSS_FAILURE", "read the accepted context: unexpected lucid context");
    }
    std::memcpy(&lucid_, set_->elements[0].value, sizeof(void*));
    return GssStatus{};
  }
  const gss_krb5_lucid_context_v1_t* get() const {
    return static_cast<const gss_krb5_lucid_context_v1_t*>(lucid_);
  }

 private:
  gss_buffer_set_t set_ = GSS_C_NO_BUFFER_SET;
  void* lucid_ = nullptr;
};

void Append32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void Append64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// What identifies the authenticator of an accepted context, serialised: principal NUL protocol
// keytype keylength key seq, every field delimited so no two different inputs serialise alike.
// Holds the context key: the caller wipes it (explicit_bzero) when done. `key` is the context
// key the lucid context reports, for a caller that keys a PRF with it.
GssStatus AuthenticatorInput(gss_ctx_id_t ctx, const std::string& principal, LucidContext* lucid,
                             std::vector<uint8_t>* input, const gss_krb5_lucid_key_t** key) {
  GssStatus st = lucid->Inquire(ctx);
  if (!st.ok()) return st;
  const gss_krb5_lucid_context_v1_t* l = lucid->get();
  if (l == nullptr || l->version != 1 || l->initiate != 0) {
    return MakeStatus("ERR_GSS_FAILURE", "read the accepted context: not an accepted krb5 context");
  }
  const gss_krb5_lucid_key_t& k = l->protocol == 1 ? l->cfx_kd.ctx_key : l->rfc1964_kd.ctx_key;
  if (k.data == nullptr || k.length == 0 || k.length > 64) {
    return MakeStatus("ERR_GSS_FAILURE", "read the accepted context: no context key");
  }
  input->reserve(principal.size() + 1 + 16 + k.length + 8);
  input->insert(input->end(), principal.begin(), principal.end());
  input->push_back(0);
  Append32(input, l->protocol);
  Append32(input, k.type);
  Append32(input, k.length);
  const uint8_t* bytes = static_cast<const uint8_t*>(k.data);
  input->insert(input->end(), bytes, bytes + k.length);
  Append64(input, l->recv_seq);
  *key = &k;
  return GssStatus{};
}

// The accepting service's name (the ticket's server principal), as gss_display_name shows it.
GssStatus ServiceName(gss_ctx_id_t ctx, std::string* service) {
  OM_uint32 minor = 0;
  GssName target;
  OM_uint32 major = gss_inquire_context(&minor, ctx, nullptr, target.out(), nullptr, nullptr,
                                        nullptr, nullptr, nullptr);
  if (GSS_ERROR(major))
    return MakeGssStatus("read the accepted context's service", major, minor, GSS_C_NO_OID);
  GssBuffer display;
  major = gss_display_name(&minor, target.get(), display.get(), nullptr);
  if (GSS_ERROR(major))
    return MakeGssStatus("display the accepted context's service", major, minor, GSS_C_NO_OID);
  service->assign(static_cast<const char*>(display.data()), display.size());
  return GssStatus{};
}

}  // namespace

GssStatus ReplayTagOfContext(gss_ctx_id_t ctx, const std::string& principal, ReplayTag* tag,
                             uint64_t* principal_hash) {
  LucidContext lucid;
  std::vector<uint8_t> input;
  const gss_krb5_lucid_key_t* key = nullptr;
  GssStatus st = AuthenticatorInput(ctx, principal, &lucid, &input, &key);
  if (!st.ok()) return st;
  const TagKeys& keys = CurrentTagKeys();
  tag->hi = SipHash24(keys.hi, input.data(), input.size());
  tag->lo = SipHash24(keys.lo, input.data(), input.size());
  *principal_hash = SipHash24(keys.principal, reinterpret_cast<const uint8_t*>(principal.data()),
                              principal.size());
  // The input holds the context key: wipe it before the memory goes back to the allocator.
  explicit_bzero(input.data(), input.size());
  return GssStatus{};
}

GssStatus SharedReplayTagOfContext(gss_ctx_id_t ctx, const std::string& principal,
                                   SharedReplayTag* out) {
  LucidContext lucid;
  std::vector<uint8_t> input;
  const gss_krb5_lucid_key_t* key = nullptr;
  GssStatus st = AuthenticatorInput(ctx, principal, &lucid, &input, &key);
  if (!st.ok()) return st;
  // One krb5 context per thread for the life of the thread (a context per call would parse
  // krb5.conf again); krb5_c_prf uses it only for error messages.
  static thread_local Krb5Context krb5;
  std::string failure;
  std::vector<uint8_t> prf;
  if (krb5.code() != 0) {
    failure = "no krb5 context";
  } else {
    static const char kLabel[] = "negotiate-server shared replay tag v1";
    std::vector<uint8_t> labelled(kLabel, kLabel + sizeof kLabel);  // the NUL delimits it
    labelled.insert(labelled.end(), input.begin(), input.end());
    krb5_keyblock block{};
    block.enctype = key->type;
    block.length = key->length;
    block.contents = static_cast<krb5_octet*>(key->data);
    size_t prf_len = 0;
    krb5_error_code code = krb5_c_prf_length(krb5.get(), block.enctype, &prf_len);
    if (code == 0 && prf_len < kSharedTagBytes) code = KRB5_BAD_ENCTYPE;
    if (code == 0) {
      prf.resize(prf_len);
      krb5_data in{};
      in.data = reinterpret_cast<char*>(labelled.data());
      in.length = static_cast<unsigned int>(labelled.size());
      krb5_data result{};
      result.data = reinterpret_cast<char*>(prf.data());
      result.length = static_cast<unsigned int>(prf.size());
      code = krb5_c_prf(krb5.get(), &block, &in, &result);
    }
    if (code != 0) failure = ErrorText(krb5.get(), code);
    explicit_bzero(labelled.data(), labelled.size());
  }
  explicit_bzero(input.data(), input.size());
  if (!failure.empty()) {
    return MakeStatus("ERR_GSS_FAILURE", "compute the shared replay tag: " + failure);
  }
  static const char kHex[] = "0123456789abcdef";
  out->tag.clear();
  for (size_t i = 0; i < kSharedTagBytes; ++i) {
    out->tag.push_back(kHex[prf[i] >> 4]);
    out->tag.push_back(kHex[prf[i] & 15]);
  }
  return ServiceName(ctx, &out->service);
}

}  // namespace negotiate
