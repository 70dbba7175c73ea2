// Mutation fuzzer for the PAC decoders (native/src/pac/), run by test/fuzz/pacDecoder.fuzz.test.ts
// under AddressSanitizer and UndefinedBehaviorSanitizer. Seeds are real PAC buffers from a Samba
// AD DC (test/fixtures/pac/), and a whole PAC assembled from them as a KDC lays one out (the
// header, its buffer list, the three buffers and two signature buffers, 8-byte aligned), read as
// the server reads one: the header (FindPacBuffers), then each buffer it found. Each round
// mutates a seed (bit flips, random bytes, boundary values written over length and count fields,
// truncation, splices) and decodes it. A crash, a sanitizer report, a span outside the PAC or a
// decode that claims more SIDs than the bytes could hold fails the run.
//
//   pac_fuzz [--iterations N] [--seconds S] [--seed X] FILE...   (FILE names start with
//   logon-info, upn-dns-info or client-info, which picks the decoder)
//
// Built with -DNEGOTIATE_LIBFUZZER and clang's -fsanitize=fuzzer, LLVMFuzzerTestOneInput is the
// entry point instead (the first byte picks the decoder, a whole PAC included).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../src/pac/pac_info.h"

namespace {

using negotiate::pac::DecodeClientInfo;
using negotiate::pac::DecodeLogonInfo;
using negotiate::pac::DecodeUpnDnsInfo;
using negotiate::pac::FindPacBuffers;
using negotiate::pac::PacBuffers;
using negotiate::pac::PacSpan;

enum Kind { kLogon = 0, kUpnDns = 1, kClient = 2, kWhole = 3 };

bool Decode(Kind kind, const uint8_t* data, size_t size);

// A buffer the header located, decoded from an exactly sized copy (so ASan sees a read past its
// end); aborts when the span is not inside the PAC.
void DecodeSpan(Kind kind, const PacSpan& span, const uint8_t* data, size_t size) {
  if (!span.present) return;
  if (span.offset > size || span.size > size - span.offset) {
    std::fprintf(stderr, "invariant broken: a span outside the PAC\n");
    std::abort();
  }
  std::vector<uint8_t> exact(data + span.offset, data + span.offset + span.size);
  Decode(kind, exact.data(), exact.size());
}

// A whole PAC as the server reads it: the header, then the buffers it found.
bool DecodeWhole(const uint8_t* data, size_t size) {
  PacBuffers b;
  if (!FindPacBuffers(data, size, &b).empty()) return false;
  DecodeSpan(kLogon, b.logon_info, data, size);
  DecodeSpan(kClient, b.client_info, data, size);
  DecodeSpan(kUpnDns, b.upn_dns_info, data, size);
  return true;
}

// Decodes `data` as `kind`; returns true when accepted. Aborts on a broken invariant.
bool Decode(Kind kind, const uint8_t* data, size_t size) {
  switch (kind) {
    case kLogon: {
      negotiate::pac::LogonInfo info;
      if (!DecodeLogonInfo(data, size, &info).empty()) return false;
      size_t sids = info.group_sids.size() + info.extra_sids.size() + info.resource_group_sids.size();
      // Each group RID takes 8 bytes and each extra SID at least 16: no decode may invent SIDs.
      if (sids * 8 > size) {
        std::fprintf(stderr, "invariant broken: %zu SIDs from %zu bytes\n", sids, size);
        std::abort();
      }
      return true;
    }
    case kUpnDns: {
      negotiate::pac::UpnDnsInfo info;
      return DecodeUpnDnsInfo(data, size, &info).empty();
    }
    case kClient: {
      std::string name;
      return DecodeClientInfo(data, size, &name).empty();
    }
    case kWhole:
      return DecodeWhole(data, size);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // A copy of exactly `size - 1` bytes, so ASan sees any read past the end.
  std::vector<uint8_t> body(data + 1, data + size);
  Decode(static_cast<Kind>(data[0] % 4), body.data(), body.size());
  return 0;
}

#ifndef NEGOTIATE_LIBFUZZER

namespace {

struct Rng {
  uint64_t s;
  uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
};

const uint32_t kInteresting[] = {0,          1,          2,          7,          8,
                                 15,         16,         0x7f,       0x80,       0xff,
                                 0x100,      0x7fff,     0x8000,     0xffff,     0x10000,
                                 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x20000};

void Mutate(Rng* rng, std::vector<uint8_t>* b, const std::vector<std::vector<uint8_t>>& pool) {
  size_t rounds = 1 + rng->Below(8);
  for (size_t i = 0; i < rounds; ++i) {
    if (b->empty()) b->push_back(0);
    switch (rng->Below(7)) {
      case 0:  // flip a bit
        (*b)[rng->Below(b->size())] ^= static_cast<uint8_t>(1u << rng->Below(8));
        break;
      case 1:  // a random byte
        (*b)[rng->Below(b->size())] = static_cast<uint8_t>(rng->Next());
        break;
      case 2:  // a boundary value over an aligned 32-bit field (counts, lengths, referents)
      case 3: {
        if (b->size() < 4) break;
        size_t at = rng->Below(b->size() / 4) * 4;
        uint32_t v = kInteresting[rng->Below(sizeof kInteresting / sizeof kInteresting[0])];
        if (rng->Below(4) == 0) v = static_cast<uint32_t>(b->size() - at + rng->Below(16) - 8);
        std::memcpy(b->data() + at, &v, 4);
        break;
      }
      case 4:  // a 16-bit boundary value (string lengths and offsets)
        if (b->size() >= 2) {
          size_t at = rng->Below(b->size() / 2) * 2;
          uint16_t v = static_cast<uint16_t>(kInteresting[rng->Below(sizeof kInteresting / 4)]);
          std::memcpy(b->data() + at, &v, 2);
        }
        break;
      case 5:  // truncate
        b->resize(rng->Below(b->size() + 1));
        break;
      case 6: {  // splice in a piece of another seed
        const std::vector<uint8_t>& other = pool[rng->Below(pool.size())];
        if (other.empty()) break;
        size_t from = rng->Below(other.size());
        size_t len = 1 + rng->Below(std::min<size_t>(64, other.size() - from));
        size_t at = rng->Below(b->size() + 1);
        b->insert(b->begin() + static_cast<std::ptrdiff_t>(at), other.begin() + static_cast<std::ptrdiff_t>(from),
                  other.begin() + static_cast<std::ptrdiff_t>(from + len));
        break;
      }
    }
  }
}

void PutLe(std::vector<uint8_t>* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A whole PAC holding `buffers` (ulType, bytes), laid out as a KDC does (MS-PAC 2.3, 2.4).
std::vector<uint8_t> WholePac(const std::vector<std::pair<uint32_t, std::vector<uint8_t>>>& buffers) {
  std::vector<uint8_t> pac;
  PutLe(&pac, buffers.size(), 4);
  PutLe(&pac, 0, 4);
  size_t offset = 8 + 16 * buffers.size();
  for (const auto& [type, bytes] : buffers) {
    offset = (offset + 7) & ~size_t{7};
    PutLe(&pac, type, 4);
    PutLe(&pac, bytes.size(), 4);
    PutLe(&pac, offset, 8);
    offset += bytes.size();
  }
  for (const auto& entry : buffers) {
    pac.resize((pac.size() + 7) & ~size_t{7}, 0);
    pac.insert(pac.end(), entry.second.begin(), entry.second.end());
  }
  return pac;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 100000;
  double seconds = 30;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  std::vector<std::vector<uint8_t>> seeds;
  std::vector<Kind> kinds;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc) {
      iterations = std::atol(argv[++i]);
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 0) | 1;
    } else {
      std::ifstream f(a, std::ios::binary);
      if (!f) {
        std::fprintf(stderr, "cannot read %s\n", a.c_str());
        return 2;
      }
      std::string base = a.substr(a.find_last_of('/') + 1);
      Kind kind = base.rfind("logon-info", 0) == 0     ? kLogon
                  : base.rfind("upn-dns-info", 0) == 0 ? kUpnDns
                                                       : kClient;
      seeds.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      kinds.push_back(kind);
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "usage: pac_fuzz [--iterations N] [--seconds S] [--seed X] FILE...\n");
    return 2;
  }
  // A whole PAC from one real buffer of each kind, with two signature buffers (HMAC-SHA1-96:
  // a 4-byte type and 12 bytes) as a KDC adds them.
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> parts;
  const uint32_t kTypes[] = {1, 12, 10};  // logon, UPN DNS, client info (the Kind order)
  for (Kind kind : {kLogon, kUpnDns, kClient}) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      if (kinds[i] == kind) {
        parts.emplace_back(kTypes[kind], seeds[i]);
        break;
      }
    }
  }
  if (parts.size() == 3) {
    std::vector<uint8_t> signature = {0x10, 0, 0, 0};
    signature.resize(16, 0x5a);
    parts.emplace_back(6, signature);
    parts.emplace_back(7, signature);
    seeds.push_back(WholePac(parts));
    kinds.push_back(kWhole);
  }
  // The real buffers must decode: a fuzz run over seeds the decoder refuses proves little.
  for (size_t i = 0; i < seeds.size(); ++i) {
    if (!Decode(kinds[i], seeds[i].data(), seeds[i].size())) {
      std::fprintf(stderr, "seed %zu is refused by its decoder\n", i);
      return 3;
    }
  }
  Rng rng{seed};
  auto start = std::chrono::steady_clock::now();
  long done = 0, accepted = 0, whole_accepted = 0;
  for (; done < iterations; ++done) {
    if ((done & 1023) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) {
      break;
    }
    size_t which = rng.Below(seeds.size());
    std::vector<uint8_t> input = seeds[which];
    Mutate(&rng, &input, seeds);
    // Exactly sized heap copy: ASan reports a read one past the end.
    std::vector<uint8_t> exact(input.begin(), input.end());
    if (Decode(kinds[which], exact.data(), exact.size())) {
      ++accepted;
      if (kinds[which] == kWhole) ++whole_accepted;
    }
  }
  std::printf(
      "{\"iterations\":%ld,\"accepted\":%ld,\"refused\":%ld,\"seeds\":%zu,\"wholeAccepted\":%ld}\n",
      done, accepted, done - accepted, seeds.size(), whole_accepted);
  return 0;
}

#endif  // NEGOTIATE_LIBFUZZER
