// Unit checks of the whole-PAC header reader (native/src/pac/pac_container.cc) on PACs built
// here: the three buffers found wherever they sit, others skipped; refused with a reason when
// the header or buffer list is truncated, the version is not 0, a buffer lies outside the PAC,
// overlaps the header, is misaligned or comes twice; and every prefix and thousands of random
// mutations of a good PAC are read without touching a byte outside it (the test builds this
// under AddressSanitizer). Built and run by test/native/pacContainerUnit.test.ts; prints one
// line per failed check and "N passed, M failed" last; exits non-zero on failure.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "../../../native/src/pac/pac_info.h"
#include "unit_check.h"

using negotiate::pac::FindPacBuffers;
using negotiate::pac::PacBuffers;

namespace {

using unit::Check;

struct Buffer {
  uint32_t type;
  std::vector<uint8_t> bytes;
};

void PutU32(std::vector<uint8_t>* out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*out)[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A PACTYPE with `buffers` laid out after the header, each 8-byte aligned, as a KDC writes it.
std::vector<uint8_t> Pac(const std::vector<Buffer>& buffers, uint32_t version = 0) {
  size_t at = 8 + 16 * buffers.size();
  std::vector<uint8_t> out(at);
  PutU32(&out, 0, static_cast<uint32_t>(buffers.size()));
  PutU32(&out, 4, version);
  for (size_t i = 0; i < buffers.size(); ++i) {
    at = (at + 7) / 8 * 8;
    out.resize(at + buffers[i].bytes.size());
    std::copy(buffers[i].bytes.begin(), buffers[i].bytes.end(), out.begin() + at);
    size_t entry = 8 + 16 * i;
    PutU32(&out, entry, buffers[i].type);
    PutU32(&out, entry + 4, static_cast<uint32_t>(buffers[i].bytes.size()));
    PutU32(&out, entry + 8, static_cast<uint32_t>(at));
    PutU32(&out, entry + 12, 0);
    at += buffers[i].bytes.size();
  }
  return out;
}

std::string Find(const std::vector<uint8_t>& pac, PacBuffers* out) {
  return FindPacBuffers(pac.data(), pac.size(), out);
}

bool Holds(const std::vector<uint8_t>& pac, const negotiate::pac::PacSpan& span,
           const std::vector<uint8_t>& want) {
  return span.present && span.size == want.size() &&
         std::equal(want.begin(), want.end(), pac.begin() + static_cast<long>(span.offset));
}

void FindsTheBuffers() {
  std::vector<uint8_t> logon(37, 0xaa), client(18, 0xbb), upn(24, 0xcc), sig(20, 0xdd);
  std::vector<uint8_t> pac = Pac({{6, sig}, {12, upn}, {1, logon}, {7, sig}, {10, client}});
  PacBuffers b;
  Check(Find(pac, &b).empty(), "a good PAC is read");
  Check(Holds(pac, b.logon_info, logon), "logon info found (type 1)");
  Check(Holds(pac, b.client_info, client), "client info found (type 10)");
  Check(Holds(pac, b.upn_dns_info, upn), "UPN DNS info found (type 12)");

  PacBuffers mit;
  Check(Find(Pac({{10, client}, {6, sig}, {7, sig}}), &mit).empty(), "an MIT KDC's PAC is read");
  Check(!mit.logon_info.present && mit.client_info.present && !mit.upn_dns_info.present,
        "an MIT KDC's PAC: client info only");

  PacBuffers empty_buffer;
  Check(Find(Pac({{1, {}}, {10, client}}), &empty_buffer).empty() &&
            empty_buffer.logon_info.present && empty_buffer.logon_info.size == 0,
        "an empty buffer is present with size 0 (its decoder refuses it)");
}

void RefusesBadHeaders() {
  std::vector<uint8_t> client(18, 0xbb);
  PacBuffers b;
  Check(!Find({}, &b).empty(), "empty");
  Check(!Find({1, 0, 0, 0}, &b).empty(), "header cut in half");
  Check(!Find(Pac({}), &b).empty(), "no buffers");
  Check(!Find(Pac({{10, client}}, 1), &b).empty(), "version 1");

  std::vector<uint8_t> pac = Pac({{10, client}});
  PutU32(&pac, 0, 4097);
  Check(!Find(pac, &b).empty(), "more than 4096 buffers");
  pac = Pac({{10, client}});
  PutU32(&pac, 0, 3);
  Check(!Find(pac, &b).empty(), "a buffer list longer than the PAC");
  PutU32(&pac, 0, 0xffffffffu);
  Check(!Find(pac, &b).empty(), "cBuffers 2^32-1");
}

void RefusesBadBuffers() {
  std::vector<uint8_t> client(18, 0xbb), logon(40, 0xaa);
  PacBuffers b;
  std::vector<uint8_t> pac = Pac({{10, client}});
  PutU32(&pac, 8 + 4, static_cast<uint32_t>(pac.size()));
  Check(!Find(pac, &b).empty(), "a buffer running past the end");

  pac = Pac({{10, client}});
  PutU32(&pac, 8 + 8, static_cast<uint32_t>(pac.size() + 8));
  Check(!Find(pac, &b).empty(), "an offset past the end");

  pac = Pac({{10, client}});
  PutU32(&pac, 8 + 12, 1);
  Check(!Find(pac, &b).empty(), "an offset above 4 GiB");

  pac = Pac({{10, client}});
  PutU32(&pac, 8 + 4, 0xffffffffu);
  PutU32(&pac, 8 + 8, 0xfffffff8u);
  Check(!Find(pac, &b).empty(), "offset and size that wrap if added in 32 bits");

  pac = Pac({{10, client}});
  PutU32(&pac, 8 + 8, 0);
  PutU32(&pac, 8 + 4, 8);
  Check(!Find(pac, &b).empty(), "a buffer over the header");

  pac = Pac({{10, client}});
  PutU32(&pac, 8 + 8, 8 + 16 + 4);
  PutU32(&pac, 8 + 4, 4);
  Check(!Find(pac, &b).empty(), "a misaligned buffer");

  Check(!Find(Pac({{1, logon}, {10, client}, {1, logon}}), &b).empty(), "two logon infos");
  Check(!Find(Pac({{10, client}, {10, client}}), &b).empty(), "two client infos");
  Check(!Find(Pac({{12, client}, {10, client}, {12, client}}), &b).empty(), "two UPN DNS infos");
  Check(Find(Pac({{6, client}, {10, client}, {6, client}}), &b).empty(),
        "two signatures (a type the server does not read) are not its concern");
}

// Every prefix and random mutations: a result either way, spans always inside the PAC.
void NeverReadsOutside() {
  std::vector<uint8_t> pac = Pac({{1, std::vector<uint8_t>(50, 1)},
                                  {10, std::vector<uint8_t>(18, 2)},
                                  {12, std::vector<uint8_t>(30, 3)}});
  auto inside = [](const std::vector<uint8_t>& p, const negotiate::pac::PacSpan& s) {
    return !s.present || (s.offset <= p.size() && s.size <= p.size() - s.offset);
  };
  bool all_inside = true;
  for (size_t n = 0; n <= pac.size(); ++n) {
    std::vector<uint8_t> cut(pac.begin(), pac.begin() + static_cast<long>(n));
    PacBuffers b;
    if (Find(cut, &b).empty()) {
      all_inside = all_inside && inside(cut, b.logon_info) && inside(cut, b.client_info) &&
                   inside(cut, b.upn_dns_info);
    }
  }
  Check(all_inside, "every prefix: spans inside");
  std::mt19937 rng(1234);
  all_inside = true;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> m = pac;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<uint8_t>(rng());
    PacBuffers b;
    if (Find(m, &b).empty()) {
      all_inside = all_inside && inside(m, b.logon_info) && inside(m, b.client_info) &&
                   inside(m, b.upn_dns_info);
    }
  }
  Check(all_inside, "20,000 mutations: spans inside");
}

}  // namespace

int main() {
  FindsTheBuffers();
  RefusesBadHeaders();
  RefusesBadBuffers();
  NeverReadsOutside();
  return unit::Report();
}
