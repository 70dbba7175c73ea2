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
  std::vector<uint8_t> logon;
  Attr logon_attr = GetAttribute(name, "urn:mspac:logon-info", &logon);
  if (logon_attr == Attr::kAbsent) return PacRead::kAbsent;
  if (logon_attr != Attr::kAuthenticated) {
    *why = "the PAC is not authenticated (its signature did not verify)";
    return PacRead::kRefused;
  }
  // MIT checks the client info against the ticket's client already; checked again here against
  // the name the application is given, so a PAC can never describe someone else.
  std::vector<uint8_t> client;
  if (GetAttribute(name, "urn:mspac:client-info", &client) != Attr::kAuthenticated) {
    *why = "the PAC has no authenticated client info";
    return PacRead::kRefused;
  }
  std::string client_name;
  std::string err = DecodeClientInfo(client.data(), client.size(), &client_name);
  if (!err.empty()) {
    *why = err;
    return PacRead::kRefused;
  }
  if (!ClientNameMatches(client_name, principal)) {
    *why = "the PAC's client info names " + client_name + ", not " + principal;
    return PacRead::kRefused;
  }
  PacInfo info;
  err = DecodeLogonInfo(logon.data(), logon.size(), &info.logon);
  if (!err.empty()) {
    *why = err;
    return PacRead::kRefused;
  }
  std::vector<uint8_t> upn;
  if (GetAttribute(name, "urn:mspac:upn-dns-info", &upn) == Attr::kAuthenticated &&
      DecodeUpnDnsInfo(upn.data(), upn.size(), &info.upn_dns).empty()) {
    info.has_upn_dns = true;
  }
  *out = std::move(info);
  return PacRead::kUsed;
}

}  // namespace pac
}  // namespace negotiate
