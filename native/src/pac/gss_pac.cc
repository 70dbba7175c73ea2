#include "gss_pac.h"

#include <gssapi/gssapi_ext.h>

#include <cstdint>
#include <vector>

#include "../gss/handles.h"

namespace negotiate {
namespace pac {
namespace {

enum class Attr { kAbsent, kAuthenticated, kUnauthenticated };

// One value of the attribute `urn` on `name`, copied into `value`.
Attr GetAttribute(gss_name_t name, const char* urn, std::vector<uint8_t>* value) {
  gss_buffer_desc attr;
  attr.value = const_cast<char*>(urn);
  attr.length = std::char_traits<char>::length(urn);
  int authenticated = 0;
  int complete = 0;
  int more = -1;
  GssBuffer raw;
  GssBuffer display;
  OM_uint32 minor = 0;
  OM_uint32 major = gss_get_name_attribute(&minor, name, &attr, &authenticated, &complete,
                                           raw.get(), display.get(), &more);
  if (GSS_ERROR(major)) return Attr::kAbsent;
  const uint8_t* p = static_cast<const uint8_t*>(raw.data());
  value->assign(p, p + raw.size());
  return authenticated != 0 ? Attr::kAuthenticated : Attr::kUnauthenticated;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringAsciiCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool ClientNameMatches(const std::string& client_name, const std::string& principal) {
  if (client_name.empty()) return false;
  if (EqualsIgnoringAsciiCase(client_name, principal)) return true;
  size_t at = principal.rfind('@');
  return at != std::string::npos && EqualsIgnoringAsciiCase(client_name, principal.substr(0, at));
}

PacRead ReadPac(gss_name_t name, const std::string& principal, PacInfo* out, std::string* why) {
  // The whole PAC in one read ("urn:mspac:"), its buffers found here: each attribute read makes
  // MIT create a krb5 context, so one read instead of three (logon, client and UPN info).
  std::vector<uint8_t> whole;
  Attr whole_attr = GetAttribute(name, "urn:mspac:", &whole);
  if (whole_attr == Attr::kAbsent) return PacRead::kAbsent;
  if (whole_attr != Attr::kAuthenticated) {
    *why = "the PAC is not authenticated (its signature did not verify)";
    return PacRead::kRefused;
  }
  PacBuffers buffers;
  std::string err = FindPacBuffers(whole.data(), whole.size(), &buffers);
  if (!err.empty()) {
    *why = err;
    return PacRead::kRefused;
  }
  // No logon info: an MIT KDC's PAC (client info and signatures only), nothing to authorize by.
  if (!buffers.logon_info.present) return PacRead::kAbsent;
  // MIT checks the client info against the ticket's client already; checked again here against
  // the name the application is given, so a PAC can never describe someone else.
  if (!buffers.client_info.present) {
    *why = "the PAC has no authenticated client info";
    return PacRead::kRefused;
  }
  const uint8_t* base = whole.data();
  std::string client_name;
  err = DecodeClientInfo(base + buffers.client_info.offset, buffers.client_info.size, &client_name);
  if (!err.empty()) {
    *why = err;
    return PacRead::kRefused;
  }
  if (!ClientNameMatches(client_name, principal)) {
    *why = "the PAC's client info names " + client_name + ", not " + principal;
    return PacRead::kRefused;
  }
  PacInfo info;
  err = DecodeLogonInfo(base + buffers.logon_info.offset, buffers.logon_info.size, &info.logon);
  if (!err.empty()) {
    *why = err;
    return PacRead::kRefused;
  }
  if (buffers.upn_dns_info.present &&
      DecodeUpnDnsInfo(base + buffers.upn_dns_info.offset, buffers.upn_dns_info.size, &info.upn_dns)
          .empty()) {
    info.has_upn_dns = true;
  }
  *out = std::move(info);
  return PacRead::kUsed;
}

}  // namespace pac
}  // namespace negotiate
