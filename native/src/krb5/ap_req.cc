#include "ap_req.h"

#include <cstring>

namespace negotiate {
namespace {

const uint8_t kSpnegoOid[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
const uint8_t kKrb5Oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
const uint8_t kMsKrb5Oid[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};

// One DER element: its tag byte and the span of its contents.
struct Tlv {
  uint8_t tag = 0;
  const uint8_t* value = nullptr;
  size_t len = 0;
};

// A bounded cursor over DER bytes. Only definite lengths of up to 4 length bytes are read;
// tokens that need more are far beyond any frame limit the server accepts.
class Der {
 public:
  Der(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}

  const uint8_t* pos() const { return p_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  bool Next(Tlv* out) {
    if (end_ - p_ < 2) return false;
    out->tag = *p_++;
    size_t len = *p_++;
    if (len & 0x80) {
      size_t count = len & 0x7f;
      if (count == 0 || count > 4 || static_cast<size_t>(end_ - p_) < count) return false;
      len = 0;
      for (size_t i = 0; i < count; ++i) len = (len << 8) | *p_++;
    }
    if (static_cast<size_t>(end_ - p_) < len) return false;
    out->value = p_;
    out->len = len;
    p_ += len;
    return true;
  }

  // Enters the element if it has `tag`, else fails.
  bool Expect(uint8_t tag, Der* inner) {
    Tlv t;
    if (!Next(&t) || t.tag != tag) return false;
    *inner = Der(t.value, t.len);
    return true;
  }

  // Finds the context-tagged field [n] among the remaining elements of a SEQUENCE.
  bool Field(int n, Tlv* out) {
    Tlv t;
    while (Next(&t)) {
      if (t.tag == static_cast<uint8_t>(0xa0 + n)) {
        *out = t;
        return true;
      }
    }
    return false;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

bool SameOid(const Tlv& t, const uint8_t* oid, size_t n) {
  return t.tag == 0x06 && t.len == n && std::memcmp(t.value, oid, n) == 0;
}

bool IsKrb5Oid(const Tlv& t) {
  return SameOid(t, kKrb5Oid, sizeof kKrb5Oid) || SameOid(t, kMsKrb5Oid, sizeof kMsKrb5Oid);
}

bool ReadInteger(const Tlv& t, int32_t* out) {
  if (t.tag != 0x02 || t.len == 0 || t.len > 4) return false;
  int32_t v = (t.value[0] & 0x80) ? -1 : 0;
  for (size_t i = 0; i < t.len; ++i) v = static_cast<int32_t>((static_cast<uint32_t>(v) << 8) | t.value[i]);
  *out = v;
  return true;
}

// AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0], msg-type [1], ap-options [2], ticket [3],
//                                        authenticator [4] EncryptedData }
bool FromApReq(const uint8_t* p, size_t n, AuthenticatorCipher* out) {
  Der outer(p, n), seq(nullptr, 0);
  if (!outer.Expect(0x6e, &seq)) return false;
  Der fields(nullptr, 0);
  if (!seq.Expect(0x30, &fields)) return false;
  Tlv auth;
  if (!fields.Field(4, &auth)) return false;
  Der wrapper(auth.value, auth.len), enc(nullptr, 0);
  if (!wrapper.Expect(0x30, &enc)) return false;
  // EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
  Tlv etype_field, cipher_field;
  if (!enc.Field(0, &etype_field) || !enc.Field(2, &cipher_field)) return false;
  Der etype_der(etype_field.value, etype_field.len), cipher_der(cipher_field.value, cipher_field.len);
  Tlv etype, cipher;
  if (!etype_der.Next(&etype) || !ReadInteger(etype, &out->etype)) return false;
  if (!cipher_der.Next(&cipher) || cipher.tag != 0x04 || cipher.len == 0) return false;
  out->cipher = cipher.value;
  out->cipher_len = cipher.len;
  return true;
}

// [APPLICATION 0] { krb5 OID, TOK_ID 01 00, AP-REQ } (RFC 4121 section 4.1).
bool FromKrb5GssToken(const uint8_t* p, size_t n, AuthenticatorCipher* out) {
  Der outer(p, n), inner(nullptr, 0);
  if (!outer.Expect(0x60, &inner)) return false;
  Tlv oid;
  if (!inner.Next(&oid) || !IsKrb5Oid(oid)) return false;
  // What follows the OID inside the [APPLICATION 0] element is not DER: a 2-byte TOK_ID, then the message.
  const uint8_t* rest = inner.pos();
  size_t rest_len = inner.remaining();
  if (rest_len < 2 || rest[0] != 0x01 || rest[1] != 0x00) return false;
  return FromApReq(rest + 2, rest_len - 2, out);
}

// NegTokenInit ::= SEQUENCE { mechTypes [0] SEQUENCE OF OID, reqFlags [1], mechToken [2] OCTET STRING, ... }
bool FromNegTokenInit(Der* init, AuthenticatorCipher* out) {
  Der seq(nullptr, 0);
  if (!init->Expect(0x30, &seq)) return false;
  Tlv mech_types;
  if (!seq.Field(0, &mech_types)) return false;
  Der types_wrapper(mech_types.value, mech_types.len), types(nullptr, 0);
  Tlv first;
  if (!types_wrapper.Expect(0x30, &types) || !types.Next(&first) || !IsKrb5Oid(first)) return false;
  Tlv mech_token;
  if (!seq.Field(2, &mech_token)) return false;
  Der token_der(mech_token.value, mech_token.len);
  Tlv octets;
  if (!token_der.Next(&octets) || octets.tag != 0x04) return false;
  return FromKrb5GssToken(octets.value, octets.len, out);
}

// NegTokenResp ::= SEQUENCE { negState [0], supportedMech [1], responseToken [2] OCTET STRING, mechListMIC [3] }
bool FromNegTokenResp(const uint8_t* p, size_t n, AuthenticatorCipher* out) {
  Der outer(p, n), resp(nullptr, 0), seq(nullptr, 0);
  if (!outer.Expect(0xa1, &resp) || !resp.Expect(0x30, &seq)) return false;
  Tlv response;
  if (!seq.Field(2, &response)) return false;
  Der token_der(response.value, response.len);
  Tlv octets;
  if (!token_der.Next(&octets) || octets.tag != 0x04) return false;
  return FromKrb5GssToken(octets.value, octets.len, out);
}

}  // namespace

bool FindAuthenticatorCipher(const uint8_t* token, size_t len, AuthenticatorCipher* out) {
  if (token == nullptr || len < 2) return false;
  if (token[0] == 0xa1) return FromNegTokenResp(token, len, out);
  if (token[0] != 0x60) return false;
  Der outer(token, len), inner(nullptr, 0);
  if (!outer.Expect(0x60, &inner)) return false;
  Tlv oid;
  if (!inner.Next(&oid)) return false;
  if (IsKrb5Oid(oid)) return FromKrb5GssToken(token, len, out);
  if (!SameOid(oid, kSpnegoOid, sizeof kSpnegoOid)) return false;
  // InitialContextToken's innerContextToken: NegotiationToken ::= CHOICE { negTokenInit [0], ... }
  Der init(nullptr, 0);
  if (!inner.Expect(0xa0, &init)) return false;
  return FromNegTokenInit(&init, out);
}

}  // namespace negotiate
