// A bounded little-endian reader over one PAC buffer. Every read checks the bytes left first;
// a failed read records why and leaves the reader failed, so a decoder can run a sequence of
// reads and test once. Nothing here allocates from a length it has not checked against the
// bytes that are actually there.
#ifndef NEGOTIATE_PAC_NDR_READER_H_
#define NEGOTIATE_PAC_NDR_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace negotiate {
namespace pac {

class NdrReader {
 public:
  NdrReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t pos() const { return pos_; }
  size_t remaining() const { return ok() ? size_ - pos_ : 0; }

  // Records the first failure only: it names the field that broke the decode.
  bool Fail(const std::string& why) {
    if (error_.empty()) error_ = why + " (at byte " + std::to_string(pos_) + ")";
    return false;
  }

  // NDR aligns each primitive to its size, relative to the start of the stream.
  bool Align(size_t n) {
    size_t pad = (n - pos_ % n) % n;
    return Skip(pad, "alignment");
  }
  bool Skip(size_t n, const char* what) {
    if (!ok()) return false;
    if (n > size_ - pos_) return Fail(std::string("truncated ") + what);
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* v, const char* what) {
    if (!Skip(1, what)) return false;
    *v = data_[pos_ - 1];
    return true;
  }
  bool U16(uint16_t* v, const char* what) {
    if (!Skip(2, what)) return false;
    const uint8_t* p = data_ + pos_ - 2;
    *v = static_cast<uint16_t>(p[0] | (p[1] << 8));
    return true;
  }
  bool U32(uint32_t* v, const char* what) {
    if (!Skip(4, what)) return false;
    const uint8_t* p = data_ + pos_ - 4;
    *v = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
    return true;
  }
  // A pointer to `n` bytes at the current position, advancing past them; null on failure.
  const uint8_t* Bytes(size_t n, const char* what) {
    if (!Skip(n, what)) return nullptr;
    return data_ + pos_ - n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace pac
}  // namespace negotiate

#endif  // NEGOTIATE_PAC_NDR_READER_H_
