#include "status.h"

#include <krb5/krb5.h>

#include "handles.h"

namespace negotiate {

std::string DisplayStatus(OM_uint32 code, int type, gss_OID mech) {
  std::string text;
  // Each code type needs its own message context: sharing one between the major and minor
  // loops (as some wrappers do) truncates or repeats messages.
  OM_uint32 msg_ctx = 0;
  for (int guard = 0; guard < 8; ++guard) {
    OM_uint32 minor = 0;
    GssBuffer msg;
    OM_uint32 major = gss_display_status(&minor, code, type, mech, &msg_ctx, msg.get());
    if (GSS_ERROR(major)) break;
    if (!text.empty()) text += "; ";
    text.append(static_cast<const char*>(msg.data()), msg.size());
    // gss-ntlmssp's messages end in a NUL that it counts in the length.
    while (!text.empty() && text.back() == '\0') text.pop_back();
    if (msg_ctx == 0) break;
  }
  return text;
}

const char* ErrorCodeFor(OM_uint32 major, OM_uint32 minor) {
  switch (static_cast<krb5_error_code>(minor)) {
    case KRB5KRB_AP_ERR_REPEAT:
      return "ERR_GSS_REPLAY";
    case KRB5KRB_AP_ERR_SKEW:
      return "ERR_GSS_CLOCK_SKEW";
    case KRB5KRB_AP_WRONG_PRINC:
    case KRB5KRB_AP_ERR_NOT_US:
    case KRB5_KT_NOTFOUND:
    case KRB5KRB_AP_ERR_BADKEYVER:
      return "ERR_GSS_WRONG_PRINCIPAL";
    case KRB5KRB_AP_ERR_TKT_EXPIRED:
      return "ERR_GSS_CREDENTIALS_EXPIRED";
    default:
      break;
  }
  switch (GSS_ROUTINE_ERROR(major)) {
    case GSS_S_BAD_MECH:
      return "ERR_GSS_BAD_MECH";
    case GSS_S_BAD_NAME:
    case GSS_S_BAD_NAMETYPE:
      return "ERR_GSS_BAD_NAME";
    case GSS_S_BAD_BINDINGS:
      return "ERR_GSS_BAD_BINDINGS";
    case GSS_S_BAD_SIG:
      return "ERR_GSS_BAD_SIG";
    case GSS_S_NO_CRED:
      return "ERR_GSS_NO_CRED";
    case GSS_S_NO_CONTEXT:
      return "ERR_GSS_NO_CONTEXT";
    case GSS_S_DEFECTIVE_TOKEN:
      return "ERR_GSS_DEFECTIVE_TOKEN";
    case GSS_S_DEFECTIVE_CREDENTIAL:
      return "ERR_GSS_DEFECTIVE_CREDENTIAL";
    case GSS_S_CREDENTIALS_EXPIRED:
      return "ERR_GSS_CREDENTIALS_EXPIRED";
    case GSS_S_CONTEXT_EXPIRED:
      return "ERR_GSS_CONTEXT_EXPIRED";
    default:
      break;
  }
  if (major & GSS_S_DUPLICATE_TOKEN) return "ERR_GSS_REPLAY";
  if (major & (GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN | GSS_S_GAP_TOKEN)) {
    return "ERR_GSS_UNSEQ_TOKEN";
  }
  return "ERR_GSS_FAILURE";
}

namespace {

// Through SPNEGO, the mechglue renumbers the inner mechanism's minor status (values around
// 100000), and the krb5 error code cannot be recovered through the API; only its text can.
// These are MIT krb5's messages for the codes ErrorCodeFor recognises (the process runs in
// the C locale, so they are not translated).
const char* CodeFromMinorText(const std::string& text) {
  struct Match {
    const char* needle;
    const char* code;
  };
  static const Match kMatches[] = {
      {"Request is a replay", "ERR_GSS_REPLAY"},
      {"Clock skew too great", "ERR_GSS_CLOCK_SKEW"},
      {"The ticket isn't for us", "ERR_GSS_WRONG_PRINCIPAL"},
      {"Wrong principal in request", "ERR_GSS_WRONG_PRINCIPAL"},
      {"Cannot decrypt ticket for", "ERR_GSS_WRONG_PRINCIPAL"},
      {"No key table entry found", "ERR_GSS_WRONG_PRINCIPAL"},
      {"not found in keytab", "ERR_GSS_WRONG_PRINCIPAL"},
      {"Ticket expired", "ERR_GSS_CREDENTIALS_EXPIRED"},
  };
  for (const Match& m : kMatches) {
    if (text.find(m.needle) != std::string::npos) return m.code;
  }
  return nullptr;
}

// "Request ticket server P kvno N found in keytab but not with enctype E": the ticket is for
// this service, but the keytab lacks a key of the enctype the KDC chose, which AD takes from
// the account's msDS-SupportedEncryptionTypes (unset: RC4). Returns the enctype, or "".
std::string MissingKeytabEnctype(const std::string& text) {
  static const char kNeedle[] = "found in keytab but not with enctype ";
  size_t at = text.find(kNeedle);
  if (at == std::string::npos) return "";
  size_t from = at + sizeof kNeedle - 1;
  size_t end = text.find_first_of(" )", from);
  return text.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

}  // namespace

GssStatus MakeGssStatus(const char* what, OM_uint32 major, OM_uint32 minor, gss_OID mech) {
  GssStatus status;
  status.major = major;
  status.minor = minor;
  status.code = ErrorCodeFor(major, minor);
  status.message = what;
  status.message += ": ";
  status.message += DisplayStatus(major, GSS_C_GSS_CODE, GSS_C_NO_OID);
  if (minor != 0) {
    std::string minor_text = DisplayStatus(minor, GSS_C_MECH_CODE, mech);
    if (status.code == "ERR_GSS_FAILURE") {
      const char* from_text = CodeFromMinorText(minor_text);
      if (from_text != nullptr) status.code = from_text;
    }
    status.message += " (";
    status.message += minor_text;
    status.message += ")";
    std::string enctype = MissingKeytabEnctype(minor_text);
    if (!enctype.empty()) {
      status.code = "ERR_GSS_KEYTAB_ENCTYPE";
      status.message +=
          ": the client's ticket is encrypted with " + enctype + " but the keytab has no " +
          enctype +
          " key for this service. The KDC picks the enctype from the service account "
          "(Active Directory: msDS-SupportedEncryptionTypes; unset means RC4). Export a keytab "
          "holding " +
          enctype +
          " keys (ktpass -crypto AES256-SHA1, msktutil --enctypes 0x18, "
          "samba-tool domain exportkeytab after setting msDS-SupportedEncryptionTypes=24), or "
          "set the account's enctypes to those in the keytab; then reload it (SIGHUP)";
    }
  }
  return status;
}

GssStatus MakeStatus(const char* code, std::string message) {
  GssStatus status;
  status.major = GSS_S_FAILURE;
  status.code = code;
  status.message = std::move(message);
  return status;
}

}  // namespace negotiate
