#include "protect.h"

#include <gssapi/gssapi_ext.h>

#include "handles.h"

namespace negotiate {
namespace {

gss_buffer_desc AsBuffer(Bytes b) {
  gss_buffer_desc buf;
  buf.value = const_cast<uint8_t*>(b.data);
  buf.length = b.size;
  return buf;
}

void CopyOut(GssBuffer& buf, std::vector<uint8_t>* out) {
  const uint8_t* p = static_cast<const uint8_t*>(buf.data());
  out->assign(p, p + buf.size());
}

// NTLM signatures are 16 bytes (MS-NLMP 2.2.2.9).
constexpr size_t kNtlmSignatureSize = 16;

}  // namespace

GssStatus Wrap(gss_ctx_id_t ctx, Bytes message, bool confidential, std::vector<uint8_t>* out,
               bool* conf_applied) {
  gss_buffer_desc in = AsBuffer(message);
  GssBuffer wrapped;
  int conf_state = 0;
  OM_uint32 minor = 0;
  OM_uint32 major = gss_wrap(&minor, ctx, confidential ? 1 : 0, GSS_C_QOP_DEFAULT, &in, &conf_state,
                             wrapped.get());
  if (GSS_ERROR(major)) return MakeGssStatus("wrap", major, minor, GSS_C_NO_OID);
  CopyOut(wrapped, out);
  *conf_applied = conf_state != 0;
  return GssStatus{};
}

GssStatus Unwrap(gss_ctx_id_t ctx, Bytes token, std::vector<uint8_t>* out, bool* confidential) {
  gss_buffer_desc in = AsBuffer(token);
  GssBuffer plain;
  int conf_state = 0;
  OM_uint32 minor = 0;
  OM_uint32 major = gss_unwrap(&minor, ctx, &in, plain.get(), &conf_state, nullptr);
  if (major != GSS_S_COMPLETE) return MakeGssStatus("unwrap", major, minor, GSS_C_NO_OID);
  CopyOut(plain, out);
  *confidential = conf_state != 0;
  return GssStatus{};
}

GssStatus GetMic(gss_ctx_id_t ctx, Bytes message, std::vector<uint8_t>* out) {
  gss_buffer_desc in = AsBuffer(message);
  GssBuffer mic;
  OM_uint32 minor = 0;
  OM_uint32 major = gss_get_mic(&minor, ctx, GSS_C_QOP_DEFAULT, &in, mic.get());
  if (GSS_ERROR(major)) return MakeGssStatus("get_mic", major, minor, GSS_C_NO_OID);
  CopyOut(mic, out);
  return GssStatus{};
}

GssStatus VerifyMic(gss_ctx_id_t ctx, Bytes message, Bytes mic) {
  gss_buffer_desc msg = AsBuffer(message);
  gss_buffer_desc tok = AsBuffer(mic);
  OM_uint32 minor = 0;
  OM_uint32 major = gss_verify_mic(&minor, ctx, &msg, &tok, nullptr);
  if (major != GSS_S_COMPLETE) return MakeGssStatus("verify_mic", major, minor, GSS_C_NO_OID);
  return GssStatus{};
}

GssStatus EncryptMessage(gss_ctx_id_t ctx, Mech mech, Bytes message, std::vector<uint8_t>* trailer,
                         std::vector<uint8_t>* ciphertext) {
  OM_uint32 minor = 0;
  if (mech == Mech::kNtlm) {
    std::vector<uint8_t> wrapped;
    bool conf = false;
    GssStatus st = Wrap(ctx, message, true, &wrapped, &conf);
    if (!st.ok()) return st;
    if (wrapped.size() < kNtlmSignatureSize) {
      return MakeStatus("ERR_GSS_FAILURE", "encrypt message: NTLM wrap output too short");
    }
    trailer->assign(wrapped.begin(), wrapped.begin() + kNtlmSignatureSize);
    ciphertext->assign(wrapped.begin() + kNtlmSignatureSize, wrapped.end());
    return GssStatus{};
  }

  // The data buffer is encrypted in place, so it must be a copy we own.
  std::vector<uint8_t> data(message.data, message.data + message.size);
  gss_iov_buffer_desc iov[3];
  iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER | GSS_IOV_BUFFER_FLAG_ALLOCATE;
  iov[0].buffer.length = 0;
  iov[0].buffer.value = nullptr;
  iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
  iov[1].buffer.length = data.size();
  iov[1].buffer.value = data.data();
  // AES needs no padding (RFC 4121); the legacy RC4 and DES enctypes do, and SSPI's layout
  // puts it after the data, so it is appended to the ciphertext.
  iov[2].type = GSS_IOV_BUFFER_TYPE_PADDING | GSS_IOV_BUFFER_FLAG_ALLOCATE;
  iov[2].buffer.length = 0;
  iov[2].buffer.value = nullptr;
  int conf_state = 0;
  OM_uint32 major = gss_wrap_iov(&minor, ctx, 1, GSS_C_QOP_DEFAULT, &conf_state, iov, 3);
  if (!GSS_ERROR(major)) {
    const uint8_t* h = static_cast<const uint8_t*>(iov[0].buffer.value);
    trailer->assign(h, h + iov[0].buffer.length);
    ciphertext->assign(data.begin(), data.end());
    const uint8_t* p = static_cast<const uint8_t*>(iov[2].buffer.value);
    if (p != nullptr) ciphertext->insert(ciphertext->end(), p, p + iov[2].buffer.length);
  }
  OM_uint32 ignored = 0;
  gss_release_iov_buffer(&ignored, iov, 3);
  if (GSS_ERROR(major)) return MakeGssStatus("wrap_iov", major, minor, GSS_C_NO_OID);
  return GssStatus{};
}

}  // namespace negotiate
