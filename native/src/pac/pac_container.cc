// The whole PAC's header (MS-PAC 2.3 PACTYPE, 2.4 PAC_INFO_BUFFER). The server asks MIT for the
// whole PAC once and finds its buffers here: each attribute read through GSSAPI makes MIT
// create a krb5 context (profile checks, plugins), which three reads per handshake paid three
// times.
#include "ndr_reader.h"
#include "pac_info.h"

namespace negotiate {
namespace pac {
namespace {

constexpr uint32_t kLogonInfo = 1;
constexpr uint32_t kClientInfo = 10;
constexpr uint32_t kUpnDnsInfo = 12;
// MIT refuses more when it parses the PAC; so does the server.
constexpr uint32_t kMaxBuffers = 4096;
constexpr size_t kHeaderBytes = 8;
constexpr size_t kInfoBufferBytes = 16;
constexpr uint64_t kAlignment = 8;

}  // namespace

std::string FindPacBuffers(const uint8_t* data, size_t size, PacBuffers* out) {
  NdrReader r(data, size);
  uint32_t count = 0, version = 0;
  r.U32(&count, "cBuffers");
  r.U32(&version, "Version");
  if (!r.ok()) return "PAC: " + r.error();
  if (version != 0) return "PAC: version " + std::to_string(version) + ", not 0";
  if (count == 0 || count > kMaxBuffers) return "PAC: " + std::to_string(count) + " buffers";
  if (count > (size - kHeaderBytes) / kInfoBufferBytes) return "PAC: truncated buffer list";
  const uint64_t header_end = kHeaderBytes + uint64_t{count} * kInfoBufferBytes;
  PacBuffers found;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t type = 0, length = 0, offset_low = 0, offset_high = 0;
    r.U32(&type, "ulType");
    r.U32(&length, "cbBufferSize");
    r.U32(&offset_low, "Offset");
    r.U32(&offset_high, "Offset");
    if (!r.ok()) return "PAC: " + r.error();
    const uint64_t offset = (uint64_t{offset_high} << 32) | offset_low;
    // Compared without adding, so no sum can wrap.
    if (offset < header_end || offset > size || length > size - offset) {
      return "PAC: buffer " + std::to_string(i) + " lies outside the PAC";
    }
    if (offset % kAlignment != 0) return "PAC: buffer " + std::to_string(i) + " is not aligned";
    PacSpan* span = type == kLogonInfo    ? &found.logon_info
                    : type == kClientInfo ? &found.client_info
                    : type == kUpnDnsInfo ? &found.upn_dns_info
                                          : nullptr;
    if (span == nullptr) continue;
    if (span->present) return "PAC: two buffers of type " + std::to_string(type);
    *span = PacSpan{true, static_cast<size_t>(offset), length};
  }
  *out = found;
  return "";
}

}  // namespace pac
}  // namespace negotiate
