#include "replay_tag.h"

#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <sys/random.h>

#include <cstring>
#include <vector>

#include "siphash.h"

namespace negotiate {
namespace {

// GSS_KRB5_EXPORT_LUCID_SEC_CONTEXT_OID (1.2.840.113554.1.2.2.5.6) with version 1 appended, as
// gss_krb5_export_lucid_sec_context composes it. That function also deletes the context, so
// the inquiry is made directly.
gss_OID_desc kLucidV1Oid = {12,
                            const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x06\x01")};

struct TagKeys {
  SipKey hi, lo, principal;
};

const TagKeys& Keys() {
  static const TagKeys keys = [] {
    TagKeys k;
    uint64_t words[6] = {};
    uint8_t* p = reinterpret_cast<uint8_t*>(words);
    size_t got = 0;
    while (got < sizeof words) {
      ssize_t n = getrandom(p + got, sizeof words - got, 0);
      if (n > 0) got += static_cast<size_t>(n);
    }
    k.hi = {words[0], words[1]};
    k.lo = {words[2], words[3]};
    k.principal = {words[4], words[5]};
    return k;
  }();
  return keys;
}

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

}  // namespace

GssStatus ReplayTagOfContext(gss_ctx_id_t ctx, const std::string& principal, ReplayTag* tag,
                             uint64_t* principal_hash) {
  LucidContext lucid;
  GssStatus st = lucid.Inquire(ctx);
  if (!st.ok()) return st;
  const gss_krb5_lucid_context_v1_t* l = lucid.get();
  if (l == nullptr || l->version != 1 || l->initiate != 0) {
    return MakeStatus("ERR_GSS_FAILURE", "read the accepted context: not an accepted krb5 context");
  }
  const gss_krb5_lucid_key_t& key = l->protocol == 1 ? l->cfx_kd.ctx_key : l->rfc1964_kd.ctx_key;
  if (key.data == nullptr || key.length == 0 || key.length > 64) {
    return MakeStatus("ERR_GSS_FAILURE", "read the accepted context: no context key");
  }

  // principal NUL protocol keytype keylength key seq: every field delimited, so no two
  // different inputs serialise alike.
  std::vector<uint8_t> input;
  input.reserve(principal.size() + 1 + 16 + key.length + 8);
  input.insert(input.end(), principal.begin(), principal.end());
  input.push_back(0);
  Append32(&input, l->protocol);
  Append32(&input, key.type);
  Append32(&input, key.length);
  const uint8_t* k = static_cast<const uint8_t*>(key.data);
  input.insert(input.end(), k, k + key.length);
  Append64(&input, l->recv_seq);

  const TagKeys& keys = Keys();
  tag->hi = SipHash24(keys.hi, input.data(), input.size());
  tag->lo = SipHash24(keys.lo, input.data(), input.size());
  *principal_hash = SipHash24(keys.principal, reinterpret_cast<const uint8_t*>(principal.data()),
                              principal.size());
  // The input holds the context key: wipe it before the memory goes back to the allocator.
  explicit_bzero(input.data(), input.size());
  return GssStatus{};
}

}  // namespace negotiate
