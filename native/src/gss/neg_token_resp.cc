#include "neg_token_resp.h"

namespace negotiate {
namespace {

// One definite-length DER header at p[0..]; false when it does not fit in `len`.
bool Header(const uint8_t* p, size_t len, uint8_t* tag, size_t* header, size_t* body) {
  if (len < 2) return false;
  *tag = p[0];
  size_t n = p[1];
  size_t at = 2;
  if (n & 0x80) {
    size_t count = n & 0x7f;
    if (count == 0 || count > 4 || len < 2 + count) return false;
    n = 0;
    for (size_t i = 0; i < count; ++i) n = (n << 8) | p[2 + i];
    at += count;
  }
  if (len - at < n) return false;
  *header = at;
  *body = n;
  return true;
}

}  // namespace

bool IsNegTokenRespWithoutMechToken(const uint8_t* token, size_t len) {
  uint8_t tag = 0;
  size_t header = 0, body = 0;
  if (!Header(token, len, &tag, &header, &body) || tag != 0xa1) return false;
  const uint8_t* seq = token + header;
  if (!Header(seq, body, &tag, &header, &body) || tag != 0x30) return false;
  const uint8_t* p = seq + header;
  size_t left = body;
  while (left > 0) {
    size_t h = 0, b = 0;
    if (!Header(p, left, &tag, &h, &b)) return false;
    if (tag == 0xa2) return false;
    p += h + b;
    left -= h + b;
  }
  return true;
}

}  // namespace negotiate
