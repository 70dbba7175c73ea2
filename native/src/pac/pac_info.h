// What the server takes from a Windows PAC (MS-PAC): the fields of KERB_VALIDATION_INFO an
// application authorizes with, and the UPN_DNS_INFO buffer. SIDs are in their string form
// (S-1-5-21-...), group RIDs already joined to the domain SID.
#ifndef NEGOTIATE_PAC_PAC_INFO_H_
#define NEGOTIATE_PAC_PAC_INFO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace negotiate {
namespace pac {

struct UpnDnsInfo {
  std::string upn;
  std::string dns_domain;
  uint32_t flags = 0;
  // Present when flags has the S bit (2): the extended form carries sAMAccountName and SID.
  bool has_sam_name_and_sid = false;
  std::string sam_name;
  std::string sid;
};

struct LogonInfo {
  std::string logon_name;  // EffectiveName
  std::string full_name;
  std::string logon_domain;  // LogonDomainName (NetBIOS)
  std::string logon_server;
  std::string domain_sid;  // LogonDomainId
  std::string user_sid;    // domain SID + UserId
  std::string primary_group_sid;
  std::vector<std::string> group_sids;  // GroupIds joined to the domain SID
  std::vector<std::string> extra_sids;  // ExtraSids (universal groups of other domains, ...)
  std::vector<std::string> resource_group_sids;  // ResourceGroupIds joined to their domain SID
  uint32_t user_flags = 0;
  uint32_t user_account_control = 0;
};

struct PacInfo {
  LogonInfo logon;
  bool has_upn_dns = false;
  UpnDnsInfo upn_dns;
};

// Upper bounds on what a decode accepts, far above what AD issues (a token holds at most 1,015
// group SIDs by default, ~5,000 with MaxTokenSize raised), so a hostile length cannot make the
// decoder allocate much even inside an authenticated buffer.
constexpr uint32_t kMaxSids = 65536;
constexpr size_t kMaxPacBufferBytes = 4 * 1024 * 1024;

// Where a buffer lies in a whole PAC: `size` bytes at `offset` from its start.
struct PacSpan {
  bool present = false;
  size_t offset = 0;
  size_t size = 0;
};

// The buffers the server reads, located in a whole PAC.
struct PacBuffers {
  PacSpan logon_info;    // ulType 1
  PacSpan client_info;   // ulType 10
  PacSpan upn_dns_info;  // ulType 12
};

// Reads the PACTYPE header of a whole PAC (MS-PAC 2.3: cBuffers, Version 0, then one
// PAC_INFO_BUFFER per buffer) and locates the buffers above, each wholly inside `size`, 8-byte
// aligned, after the header; a second buffer of one of their types is refused (which one would
// count is ambiguous). Returns "" on success, else why the PAC was refused.
std::string FindPacBuffers(const uint8_t* data, size_t size, PacBuffers* out);

// Decodes a PAC_LOGON_INFO buffer (MS-PAC 2.5: the type-serialization header, then the NDR of
// KERB_VALIDATION_INFO). Returns "" on success, else why the buffer was refused.
std::string DecodeLogonInfo(const uint8_t* data, size_t size, LogonInfo* out);

// Decodes a UPN_DNS_INFO buffer (MS-PAC 2.10). Returns "" on success, else why it was refused.
std::string DecodeUpnDnsInfo(const uint8_t* data, size_t size, UpnDnsInfo* out);

// Decodes a PAC_CLIENT_INFO buffer (MS-PAC 2.7) into the client name it carries.
std::string DecodeClientInfo(const uint8_t* data, size_t size, std::string* name);

}  // namespace pac
}  // namespace negotiate

#endif  // NEGOTIATE_PAC_PAC_INFO_H_
