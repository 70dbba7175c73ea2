#include "impersonate.h"

#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>
#include <utility>
#include <vector>

#include "../files/temp_file.h"
#include "../gss/handles.h"
#include "../krb5/krb5_handles.h"
#include "../krb5/memory_ccache.h"

namespace negotiate {

const char kImpersonatedTempPrefix[] = ".s4u-";

namespace {

gss_OID_desc kKrb5Oid = {9, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02")};
gss_OID_set_desc kKrb5Only = {1, &kKrb5Oid};

class Principal {
 public:
  explicit Principal(krb5_context ctx) : ctx_(ctx) {}
  ~Principal() {
    if (p_ != nullptr) krb5_free_principal(ctx_, p_);
  }
  Principal(const Principal&) = delete;
  Principal& operator=(const Principal&) = delete;
  krb5_principal get() const { return p_; }
  krb5_principal* out() { return &p_; }

 private:
  krb5_context ctx_;
  krb5_principal p_ = nullptr;
};

std::string UniqueMemoryName(const char* what) {
  return UniqueMemoryCcacheName(std::string("s4u-") + what);
}

std::string PrincipalText(krb5_context ctx, krb5_const_principal p) {
  char* text = nullptr;
  if (krb5_unparse_name(ctx, p, &text) != 0) return "";
  std::string s = text;
  krb5_free_unparsed_name(ctx, text);
  return s;
}

GssStatus ImportName(const std::string& text, gss_OID type, const char* what, GssName* out) {
  gss_buffer_desc buf;
  buf.value = const_cast<char*>(text.data());
  buf.length = text.size();
  OM_uint32 minor = 0;
  OM_uint32 major = gss_import_name(&minor, &buf, type, out->out());
  if (GSS_ERROR(major)) return MakeGssStatus(what, major, minor, GSS_C_NO_OID);
  return GssStatus{};
}

// What the KDC says when it refuses, as MIT's messages spell it (the mechglue renumbers the
// krb5 minor code, so only its text is reliable). AD and Samba refuse S4U2Proxy to a target
// outside msDS-AllowedToDelegateTo with KDC_ERR_BADOPTION, and a non-forwardable evidence
// ticket (no protocol transition allowed) the same way or with KDC_ERR_POLICY.
bool IsKdcRefusal(const std::string& message) {
  return message.find("KDC can't fulfill requested option") != std::string::npos ||
         message.find("KDC policy rejects request") != std::string::npos ||
         message.find("not allowed to delegate") != std::string::npos;
}

GssStatus Refusal(GssStatus status, const char* code, const char* why) {
  if (IsKdcRefusal(status.message)) {
    status.code = code;
    status.message += why;
  }
  return status;
}

bool IsTgt(krb5_const_principal p) {
  static const char kTgs[] = KRB5_TGS_NAME;
  return p->length == 2 && p->data[0].length == sizeof kTgs - 1 &&
         std::memcmp(p->data[0].data, kTgs, sizeof kTgs - 1) == 0;
}

// Copies from `from` into the new FILE ccache `path` only the tickets for a service other than
// the impersonator whose client is not the impersonator: the S4U2Proxy ticket(s), never the
// service's TGT or the evidence ticket (a ticket to the service itself).
GssStatus WriteProxyTickets(krb5_context ctx, krb5_ccache from, krb5_const_principal service,
                            const std::string& path, ImpersonatedCredential* out) {
  krb5_ccache to = nullptr;
  krb5_error_code code = krb5_cc_resolve(ctx, ("FILE:" + path).c_str(), &to);
  if (code != 0) return MakeStatus("ERR_GSS_FAILURE", "open ccache: " + ErrorText(ctx, code));
  struct Closer {
    krb5_context c;
    krb5_ccache cc;
    ~Closer() { krb5_cc_close(c, cc); }
  } closer{ctx, to};

  krb5_cc_cursor cursor = nullptr;
  code = krb5_cc_start_seq_get(ctx, from, &cursor);
  if (code != 0) return MakeStatus("ERR_GSS_FAILURE", "read credential: " + ErrorText(ctx, code));
  bool initialized = false;
  krb5_timestamp now = static_cast<krb5_timestamp>(time(nullptr));
  krb5_creds creds;
  while ((code = krb5_cc_next_cred(ctx, from, &cursor, &creds)) == 0) {
    bool wanted = !krb5_is_config_principal(ctx, creds.server) &&
                  !krb5_principal_compare(ctx, creds.client, service) &&
                  !krb5_principal_compare_any_realm(ctx, creds.server, service) &&
                  !IsTgt(creds.server);
    krb5_ticket* ticket = nullptr;
    if (wanted && krb5_decode_ticket(&creds.ticket, &ticket) != 0) ticket = nullptr;
    if (wanted && !initialized) {
      code = krb5_cc_initialize(ctx, to, creds.client);
      initialized = code == 0;
      out->client = PrincipalText(ctx, creds.client);
      out->target = PrincipalText(ctx, ticket != nullptr ? ticket->server : creds.server);
      out->lifetime_seconds =
          creds.times.endtime > now ? static_cast<OM_uint32>(creds.times.endtime - now) : 0;
    }
    if (wanted && initialized) code = krb5_cc_store_cred(ctx, to, &creds);
    // MIT keeps the ticket under the name it asked for, which for a host-based target is the
    // referral form with no realm ("host/db@"). A client whose krb5.conf maps the host to the
    // realm asks for "host/db@REALM" and would not find it: store it under that name too.
    if (code == 0 && ticket != nullptr &&
        !krb5_principal_compare(ctx, ticket->server, creds.server)) {
      krb5_principal requested = creds.server;
      creds.server = ticket->server;
      code = krb5_cc_store_cred(ctx, to, &creds);
      creds.server = requested;
    }
    if (ticket != nullptr) krb5_free_ticket(ctx, ticket);
    krb5_free_cred_contents(ctx, &creds);
    if (code != 0) break;
  }
  krb5_cc_end_seq_get(ctx, from, &cursor);
  if (code != 0 && code != KRB5_CC_END) {
    return MakeStatus("ERR_GSS_FAILURE", "write ccache: " + ErrorText(ctx, code));
  }
  if (!initialized) {
    return MakeStatus("ERR_GSS_FAILURE", "S4U2Proxy: no ticket for the target in the credential");
  }
  return GssStatus{};
}

// Whether the S4U2Self (evidence) ticket in `user_cred`, the user's ticket to the service itself,
// is forwardable. A KDC gives a forwardable one only to an account trusted for protocol
// transition, and never for a user who may not be delegated ("sensitive"); S4U2Proxy with a
// non-forwardable one succeeds only through resource-based delegation, so this only words the
// refusal. Unknown (true) when the credential cannot be read.
bool EvidenceForwardable(krb5_context ctx, gss_cred_id_t user_cred, krb5_const_principal service) {
  DestroyedCcache copy(ctx, UniqueMemoryName("evidence"));
  if (copy.code() != 0) return true;
  OM_uint32 minor = 0;
  if (GSS_ERROR(gss_krb5_copy_ccache(&minor, user_cred, copy.get()))) return true;
  krb5_cc_cursor cursor = nullptr;
  if (krb5_cc_start_seq_get(ctx, copy.get(), &cursor) != 0) return true;
  bool forwardable = true;
  krb5_creds creds;
  while (krb5_cc_next_cred(ctx, copy.get(), &cursor, &creds) == 0) {
    if (!krb5_is_config_principal(ctx, creds.server) &&
        !krb5_principal_compare(ctx, creds.client, service) &&
        krb5_principal_compare_any_realm(ctx, creds.server, service)) {
      forwardable = (creds.ticket_flags & TKT_FLG_FORWARDABLE) != 0;
    }
    krb5_free_cred_contents(ctx, &creds);
  }
  krb5_cc_end_seq_get(ctx, copy.get(), &cursor);
  return forwardable;
}

}  // namespace

GssStatus ImpersonateToCcache(const ImpersonateRequest& request, ImpersonatedCredential* out) {
  Krb5Context ctx;
  if (ctx.code() != 0) return MakeStatus("ERR_GSS_FAILURE", "krb5_init_context failed");
  Principal service(ctx.get());
  krb5_error_code code = krb5_parse_name(ctx.get(), request.service.c_str(), service.out());
  if (code != 0) {
    return MakeStatus("ERR_GSS_BAD_NAME",
                      "service principal " + request.service + ": " + ErrorText(ctx.get(), code));
  }

  // The service's own TGT, from its keytab used as a client keytab, in a MEMORY ccache of this
  // call only: never the process's default ccache, which may be someone else's.
  std::string keytab = request.keytab;
  if (keytab.empty()) {
    char name[1024];
    if (krb5_kt_default_name(ctx.get(), name, sizeof name) == 0) keytab = name;
  }
  DestroyedCcache service_cc(ctx.get(), UniqueMemoryName("service"));
  if (service_cc.code() != 0) return MakeStatus("ERR_GSS_FAILURE", "cannot make a memory ccache");
  std::string service_cc_name =
      std::string("MEMORY:") + krb5_cc_get_name(ctx.get(), service_cc.get());

  GssName service_name;
  GssStatus st =
      ImportName(request.service, GSS_KRB5_NT_PRINCIPAL_NAME, "import service name", &service_name);
  if (!st.ok()) return st;
  gss_key_value_element_desc elements[2] = {{"client_keytab", keytab.c_str()},
                                            {"ccache", service_cc_name.c_str()}};
  gss_key_value_set_desc store = {2, elements};
  OM_uint32 minor = 0;
  GssCred impersonator;
  OM_uint32 major =
      gss_acquire_cred_from(&minor, service_name.get(), GSS_C_INDEFINITE, &kKrb5Only,
                            GSS_C_INITIATE, &store, impersonator.out(), nullptr, nullptr);
  if (GSS_ERROR(major)) {
    return MakeGssStatus("S4U: service credential from the keytab", major, minor, &kKrb5Oid);
  }

  // S4U2Self: a ticket for the user to this service, forwardable only when the account may
  // use protocol transition (TRUSTED_TO_AUTH_FOR_DELEGATION).
  GssName user_name;
  st = ImportName(request.user, GSS_KRB5_NT_PRINCIPAL_NAME, "import user name", &user_name);
  if (!st.ok()) return st;
  GssCred user_cred;
  major = gss_acquire_cred_impersonate_name(&minor, impersonator.get(), user_name.get(),
                                            GSS_C_INDEFINITE, &kKrb5Only, GSS_C_INITIATE,
                                            user_cred.out(), nullptr, nullptr);
  if (GSS_ERROR(major)) {
    GssStatus failed = MakeGssStatus("S4U2Self", major, minor, &kKrb5Oid);
    // At this step an unknown client is the user: a refusal for that name, not a fault.
    if (failed.message.find("Client not found in Kerberos database") != std::string::npos) {
      failed.code = "ERR_S4U_SELF_REFUSED";
      failed.message += " (no such user: " + request.user + ")";
      return failed;
    }
    return Refusal(std::move(failed), "ERR_S4U_SELF_REFUSED",
                   " (the KDC refused a ticket for the user to this service: is the account "
                   "allowed protocol transition, and does the user exist?)");
  }

  // S4U2Proxy happens inside MIT's init_sec_context: the evidence ticket goes to the KDC,
  // which checks the target against msDS-AllowedToDelegateTo. The token itself is not needed.
  GssName target_name;
  bool hostbased = request.target.find('/') == std::string::npos;
  st = ImportName(request.target,
                  hostbased ? GSS_C_NT_HOSTBASED_SERVICE : GSS_KRB5_NT_PRINCIPAL_NAME,
                  "import target name", &target_name);
  if (!st.ok()) return st;
  SecurityContext init;
  GssBuffer token;
  major = gss_init_sec_context(&minor, user_cred.get(), init.inout(), target_name.get(), &kKrb5Oid,
                               0, GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER,
                               nullptr, token.get(), nullptr, nullptr);
  if (GSS_ERROR(major)) {
    GssStatus failed = MakeGssStatus("S4U2Proxy", major, minor, &kKrb5Oid);
    if (!EvidenceForwardable(ctx.get(), user_cred.get(), service.get())) {
      return Refusal(std::move(failed), "ERR_S4U_PROXY_REFUSED",
                     " (the KDC gave the service a non-forwardable ticket for the user (S4U2Self): "
                     "the account is not trusted for protocol transition "
                     "(TRUSTED_TO_AUTH_FOR_DELEGATION), or the user may not be delegated)");
    }
    return Refusal(std::move(failed), "ERR_S4U_PROXY_REFUSED",
                   " (the KDC refused a ticket for the user to the target: is the target in the "
                   "service account's msDS-AllowedToDelegateTo?)");
  }

  DestroyedCcache user_cc(ctx.get(), UniqueMemoryName("user"));
  if (user_cc.code() != 0) return MakeStatus("ERR_GSS_FAILURE", "cannot make a memory ccache");
  major = gss_krb5_copy_ccache(&minor, user_cred.get(), user_cc.get());
  if (GSS_ERROR(major)) return MakeGssStatus("S4U: read the credential", major, minor, &kKrb5Oid);

  std::string pattern = request.dir + "/" + kImpersonatedTempPrefix + "XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = mkstemp(name.data());
  if (fd < 0) {
    int err = errno;
    return MakeStatus("ERR_GSS_FAILURE", "S4U: cannot create a file in " + request.dir + ": " +
                                             std::generic_category().message(err));
  }
  close(fd);
  TempFile file(name.data());
  st = WriteProxyTickets(ctx.get(), user_cc.get(), service.get(), file.path(), out);
  if (!st.ok()) return st;
  out->path = file.Keep();
  return GssStatus{};
}

}  // namespace negotiate
