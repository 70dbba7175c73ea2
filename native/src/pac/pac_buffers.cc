// The two small PAC buffers that are plain structures, not NDR: PAC_CLIENT_INFO (MS-PAC 2.7)
// and UPN_DNS_INFO (MS-PAC 2.10), whose strings sit at offsets from the buffer's start.
#include "ndr_reader.h"
#include "pac_info.h"
#include "text.h"

namespace negotiate {
namespace pac {
namespace {

// A UTF-16LE string of `length` bytes at `offset`, wholly inside the buffer.
bool StringAt(const uint8_t* data, size_t size, uint16_t length, uint16_t offset,
              std::string* out) {
  if (length % 2 != 0 || static_cast<size_t>(offset) + length > size) return false;
  *out = Utf16LeToUtf8(data + offset, length / 2u);
  return true;
}

}  // namespace

std::string DecodeClientInfo(const uint8_t* data, size_t size, std::string* name) {
  NdrReader r(data, size);
  uint16_t name_length = 0;
  r.Skip(8, "ClientId");
  r.U16(&name_length, "NameLength");
  if (!r.ok()) return "client info: " + r.error();
  if (name_length % 2 != 0) return "client info: odd name length";
  const uint8_t* p = r.Bytes(name_length, "Name");
  if (p == nullptr) return "client info: " + r.error();
  *name = Utf16LeToUtf8(p, name_length / 2u);
  return "";
}

std::string DecodeUpnDnsInfo(const uint8_t* data, size_t size, UpnDnsInfo* out) {
  if (size > kMaxPacBufferBytes) return "upn-dns info: buffer too large";
  NdrReader r(data, size);
  uint16_t upn_length = 0, upn_offset = 0, dns_length = 0, dns_offset = 0;
  UpnDnsInfo info;
  r.U16(&upn_length, "UpnLength");
  r.U16(&upn_offset, "UpnOffset");
  r.U16(&dns_length, "DnsDomainNameLength");
  r.U16(&dns_offset, "DnsDomainNameOffset");
  r.U32(&info.flags, "Flags");
  if (!r.ok()) return "upn-dns info: " + r.error();
  if (!StringAt(data, size, upn_length, upn_offset, &info.upn) ||
      !StringAt(data, size, dns_length, dns_offset, &info.dns_domain)) {
    return "upn-dns info: a string lies outside the buffer";
  }
  if (info.flags & 2) {
    uint16_t sam_length = 0, sam_offset = 0, sid_length = 0, sid_offset = 0;
    r.U16(&sam_length, "SamNameLength");
    r.U16(&sam_offset, "SamNameOffset");
    r.U16(&sid_length, "SidLength");
    r.U16(&sid_offset, "SidOffset");
    if (!r.ok()) return "upn-dns info: " + r.error();
    if (!StringAt(data, size, sam_length, sam_offset, &info.sam_name)) {
      return "upn-dns info: the SAM name lies outside the buffer";
    }
    // The SID is in its binary form (MS-DTYP 2.4.2.2), not NDR.
    if (static_cast<size_t>(sid_offset) + sid_length > size || sid_length < 8) {
      return "upn-dns info: the SID lies outside the buffer";
    }
    const uint8_t* s = data + sid_offset;
    Sid sid;
    sid.revision = s[0];
    uint8_t count = s[1];
    if (sid.revision != 1 || count > 15 || sid_length != 8u + 4u * count) {
      return "upn-dns info: malformed SID";
    }
    for (int i = 0; i < 6; ++i) sid.authority = (sid.authority << 8) | s[2 + i];
    for (uint8_t i = 0; i < count; ++i) {
      const uint8_t* p = s + 8 + 4 * i;
      sid.sub_authorities.push_back(static_cast<uint32_t>(p[0]) | (p[1] << 8) | (p[2] << 16) |
                                    (static_cast<uint32_t>(p[3]) << 24));
    }
    info.has_sam_name_and_sid = true;
    info.sid = SidToString(sid);
  }
  *out = std::move(info);
  return "";
}

}  // namespace pac
}  // namespace negotiate
