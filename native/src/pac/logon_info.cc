// PAC_LOGON_INFO (MS-PAC 2.5): KERB_VALIDATION_INFO in NDR with the type-serialization-1
// header (MS-RPCE 2.2.6). Scalars come first, in member order, with a 4-byte referent id in
// place of each pointer; the pointed-to data follows, in the same order, after the struct.
#include <string>

#include "ndr_reader.h"
#include "pac_info.h"
#include "text.h"

namespace negotiate {
namespace pac {
namespace {

struct UnicodeStringHeader {
  uint16_t length = 0;  // bytes
  uint16_t maximum_length = 0;
  uint32_t referent = 0;
};

bool ReadStringHeader(NdrReader* r, UnicodeStringHeader* h, const char* what) {
  return r->U16(&h->length, what) && r->U16(&h->maximum_length, what) && r->U32(&h->referent, what);
}

// The deferred conformant-varying WCHAR array of an RPC_UNICODE_STRING.
bool ReadStringBody(NdrReader* r, const UnicodeStringHeader& h, const char* what,
                    std::string* out) {
  if (h.referent == 0) {
    if (h.length != 0) return r->Fail(std::string(what) + ": length without a buffer");
    return true;
  }
  uint32_t max = 0, offset = 0, actual = 0;
  if (!r->Align(4) || !r->U32(&max, what) || !r->U32(&offset, what) || !r->U32(&actual, what)) {
    return false;
  }
  if (offset != 0 || actual > max || h.length % 2 != 0 || actual != h.length / 2u ||
      h.length > h.maximum_length) {
    return r->Fail(std::string(what) + ": inconsistent string lengths");
  }
  const uint8_t* p = r->Bytes(static_cast<size_t>(actual) * 2, what);
  if (p == nullptr) return false;
  *out = Utf16LeToUtf8(p, actual);
  return true;
}

// RPC_SID (MS-DTYP 2.4.2.3): conformant, so the sub-authority count comes first as max_count.
bool ReadSid(NdrReader* r, const char* what, Sid* sid) {
  uint32_t max = 0;
  uint8_t count = 0;
  if (!r->Align(4) || !r->U32(&max, what) || !r->U8(&sid->revision, what) || !r->U8(&count, what)) {
    return false;
  }
  if (sid->revision != 1 || count > 15 || max != count) {
    return r->Fail(std::string(what) + ": malformed SID");
  }
  const uint8_t* auth = r->Bytes(6, what);
  if (auth == nullptr) return false;
  sid->authority = 0;
  for (int i = 0; i < 6; ++i) sid->authority = (sid->authority << 8) | auth[i];
  sid->sub_authorities.resize(count);
  for (uint8_t i = 0; i < count; ++i) {
    if (!r->U32(&sid->sub_authorities[i], what)) return false;
  }
  return true;
}

// A conformant array whose max_count must equal the count the struct declared; checked against
// the bytes left before anything is allocated.
bool ReadArrayCount(NdrReader* r, uint32_t declared, size_t element_size, const char* what) {
  uint32_t max = 0;
  if (!r->Align(4) || !r->U32(&max, what)) return false;
  if (max != declared) return r->Fail(std::string(what) + ": array size differs from its count");
  if (declared > kMaxSids || static_cast<size_t>(declared) * element_size > r->remaining()) {
    return r->Fail(std::string(what) + ": count exceeds the buffer");
  }
  return true;
}

bool ReadGroupRids(NdrReader* r, uint32_t referent, uint32_t count, const char* what,
                   std::vector<uint32_t>* rids) {
  if (referent == 0) {
    if (count != 0) return r->Fail(std::string(what) + ": count without an array");
    return true;
  }
  if (!ReadArrayCount(r, count, 8, what)) return false;
  rids->resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t attributes = 0;
    if (!r->U32(&(*rids)[i], what) || !r->U32(&attributes, what)) return false;
  }
  return true;
}

}  // namespace

std::string DecodeLogonInfo(const uint8_t* data, size_t size, LogonInfo* out) {
  if (size > kMaxPacBufferBytes) return "logon info: buffer too large";
  NdrReader header(data, size);
  uint8_t version = 0, endianness = 0;
  uint16_t header_length = 0;
  uint32_t filler = 0, object_length = 0, filler2 = 0;
  if (!header.U8(&version, "serialization header") ||
      !header.U8(&endianness, "serialization header") ||
      !header.U16(&header_length, "serialization header") ||
      !header.U32(&filler, "serialization header") ||
      !header.U32(&object_length, "private header") || !header.U32(&filler2, "private header")) {
    return "logon info: " + header.error();
  }
  if (version != 1 || endianness != 0x10 || header_length != 8) {
    return "logon info: not a little-endian type-serialization-1 buffer";
  }
  if (object_length > header.remaining()) return "logon info: object length exceeds the buffer";
  NdrReader r(data + header.pos(), object_length);

  LogonInfo info;
  uint32_t top = 0;
  if (!r.U32(&top, "top-level pointer")) return "logon info: " + r.error();
  if (top == 0) return "logon info: null KERB_VALIDATION_INFO";

  UnicodeStringHeader names[6];  // EffectiveName, FullName, LogonScript, ProfilePath,
                                 // HomeDirectory, HomeDirectoryDrive
  uint16_t logon_count = 0, bad_password_count = 0;
  uint32_t user_id = 0, primary_group_id = 0, group_count = 0, group_ids = 0;
  UnicodeStringHeader logon_server, logon_domain;
  uint32_t domain_id = 0, reserved = 0, sub_auth_status = 0, failed_count = 0;
  uint32_t sid_count = 0, extra_sids = 0, resource_domain = 0, resource_count = 0, resource_ids = 0;
  r.Skip(6 * 8, "logon times");
  for (auto& n : names) ReadStringHeader(&r, &n, "user names");
  r.U16(&logon_count, "LogonCount");
  r.U16(&bad_password_count, "BadPasswordCount");
  r.U32(&user_id, "UserId");
  r.U32(&primary_group_id, "PrimaryGroupId");
  r.U32(&group_count, "GroupCount");
  r.U32(&group_ids, "GroupIds");
  r.U32(&info.user_flags, "UserFlags");
  r.Skip(16, "UserSessionKey");
  ReadStringHeader(&r, &logon_server, "LogonServer");
  ReadStringHeader(&r, &logon_domain, "LogonDomainName");
  r.U32(&domain_id, "LogonDomainId");
  r.U32(&reserved, "Reserved1");
  r.U32(&reserved, "Reserved1");
  r.U32(&info.user_account_control, "UserAccountControl");
  r.U32(&sub_auth_status, "SubAuthStatus");
  r.Skip(2 * 8, "interactive logon times");
  r.U32(&failed_count, "FailedILogonCount");
  r.U32(&reserved, "Reserved3");
  r.U32(&sid_count, "SidCount");
  r.U32(&extra_sids, "ExtraSids");
  r.U32(&resource_domain, "ResourceGroupDomainSid");
  r.U32(&resource_count, "ResourceGroupCount");
  r.U32(&resource_ids, "ResourceGroupIds");
  if (!r.ok()) return "logon info: " + r.error();

  // Deferred referents, in member order.
  std::string ignored;
  ReadStringBody(&r, names[0], "EffectiveName", &info.logon_name);
  ReadStringBody(&r, names[1], "FullName", &info.full_name);
  for (int i = 2; i < 6; ++i) ReadStringBody(&r, names[i], "profile strings", &ignored);
  std::vector<uint32_t> group_rids;
  ReadGroupRids(&r, group_ids, group_count, "GroupIds", &group_rids);
  ReadStringBody(&r, logon_server, "LogonServer", &info.logon_server);
  ReadStringBody(&r, logon_domain, "LogonDomainName", &info.logon_domain);
  if (!r.ok()) return "logon info: " + r.error();
  if (domain_id == 0) return "logon info: no LogonDomainId";
  Sid domain;
  if (!ReadSid(&r, "LogonDomainId", &domain)) return "logon info: " + r.error();

  if (extra_sids == 0 && sid_count != 0) return "logon info: SidCount without ExtraSids";
  if (extra_sids != 0) {
    // KERB_SID_AND_ATTRIBUTES[SidCount]: a referent id and attributes each, then the SIDs.
    if (!ReadArrayCount(&r, sid_count, 8, "ExtraSids")) return "logon info: " + r.error();
    std::vector<uint32_t> referents(sid_count);
    for (uint32_t i = 0; i < sid_count; ++i) {
      uint32_t attributes = 0;
      if (!r.U32(&referents[i], "ExtraSids") || !r.U32(&attributes, "ExtraSids")) {
        return "logon info: " + r.error();
      }
    }
    for (uint32_t referent : referents) {
      if (referent == 0) continue;
      Sid sid;
      if (!ReadSid(&r, "ExtraSids", &sid)) return "logon info: " + r.error();
      info.extra_sids.push_back(SidToString(sid));
    }
  }

  Sid resource;
  if (resource_domain != 0 && !ReadSid(&r, "ResourceGroupDomainSid", &resource)) {
    return "logon info: " + r.error();
  }
  std::vector<uint32_t> resource_rids;
  if (!ReadGroupRids(&r, resource_ids, resource_count, "ResourceGroupIds", &resource_rids)) {
    return "logon info: " + r.error();
  }
  if (!resource_rids.empty() && resource_domain == 0) {
    return "logon info: resource groups without ResourceGroupDomainSid";
  }

  info.domain_sid = SidToString(domain);
  info.user_sid = SidWithRid(info.domain_sid, user_id);
  info.primary_group_sid = SidWithRid(info.domain_sid, primary_group_id);
  info.group_sids.reserve(group_rids.size());
  for (uint32_t rid : group_rids) info.group_sids.push_back(SidWithRid(info.domain_sid, rid));
  if (!resource_rids.empty()) {
    const std::string resource_sid = SidToString(resource);
    info.resource_group_sids.reserve(resource_rids.size());
    for (uint32_t rid : resource_rids) {
      info.resource_group_sids.push_back(SidWithRid(resource_sid, rid));
    }
  }
  *out = std::move(info);
  return "";
}

}  // namespace pac
}  // namespace negotiate
