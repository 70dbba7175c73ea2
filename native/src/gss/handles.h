// RAII owners for GSSAPI objects. Each is move-only: a copy would release the handle twice,
// and a move leaves the source empty so its destructor does nothing.
#ifndef NEGOTIATE_GSS_HANDLES_H_
#define NEGOTIATE_GSS_HANDLES_H_

#include <gssapi/gssapi.h>

#include <utility>

namespace negotiate {

// A buffer allocated by the GSSAPI library (output tokens, display strings).
class GssBuffer {
 public:
  GssBuffer() {
    buf_.length = 0;
    buf_.value = nullptr;
  }
  ~GssBuffer() { Reset(); }
  GssBuffer(const GssBuffer&) = delete;
  GssBuffer& operator=(const GssBuffer&) = delete;
  GssBuffer(GssBuffer&& other) noexcept : buf_(other.buf_) {
    other.buf_.length = 0;
    other.buf_.value = nullptr;
  }

  gss_buffer_t get() { return &buf_; }
  const void* data() const { return buf_.value; }
  size_t size() const { return buf_.length; }
  bool empty() const { return buf_.length == 0; }
  void Reset() {
    if (buf_.value != nullptr || buf_.length != 0) {
      OM_uint32 minor = 0;
      gss_release_buffer(&minor, &buf_);
    }
    buf_.length = 0;
    buf_.value = nullptr;
  }

 private:
  gss_buffer_desc buf_;
};

class GssName {
 public:
  GssName() = default;
  ~GssName() { Reset(); }
  GssName(const GssName&) = delete;
  GssName& operator=(const GssName&) = delete;
  GssName(GssName&& other) noexcept : name_(std::exchange(other.name_, GSS_C_NO_NAME)) {}
  GssName& operator=(GssName&& other) noexcept {
    if (this != &other) {
      Reset();
      name_ = std::exchange(other.name_, GSS_C_NO_NAME);
    }
    return *this;
  }

  gss_name_t get() const { return name_; }
  gss_name_t* out() {
    Reset();
    return &name_;
  }
  void Reset() {
    if (name_ != GSS_C_NO_NAME) {
      OM_uint32 minor = 0;
      gss_release_name(&minor, &name_);
    }
  }

 private:
  gss_name_t name_ = GSS_C_NO_NAME;
};

class GssCred {
 public:
  GssCred() = default;
  ~GssCred() { Reset(); }
  GssCred(const GssCred&) = delete;
  GssCred& operator=(const GssCred&) = delete;
  GssCred(GssCred&& other) noexcept : cred_(std::exchange(other.cred_, GSS_C_NO_CREDENTIAL)) {}
  GssCred& operator=(GssCred&& other) noexcept {
    if (this != &other) {
      Reset();
      cred_ = std::exchange(other.cred_, GSS_C_NO_CREDENTIAL);
    }
    return *this;
  }

  gss_cred_id_t get() const { return cred_; }
  gss_cred_id_t* out() {
    Reset();
    return &cred_;
  }
  void Reset() {
    if (cred_ != GSS_C_NO_CREDENTIAL) {
      OM_uint32 minor = 0;
      gss_release_cred(&minor, &cred_);
    }
  }

 private:
  gss_cred_id_t cred_ = GSS_C_NO_CREDENTIAL;
};

class GssOidSet {
 public:
  GssOidSet() = default;
  ~GssOidSet() { Reset(); }
  GssOidSet(const GssOidSet&) = delete;
  GssOidSet& operator=(const GssOidSet&) = delete;

  gss_OID_set get() const { return set_; }
  gss_OID_set* out() {
    Reset();
    return &set_;
  }
  // Adds a copy of `oid`; returns the GSS major status.
  OM_uint32 Add(gss_OID oid, OM_uint32* minor) {
    if (set_ == GSS_C_NO_OID_SET) {
      OM_uint32 major = gss_create_empty_oid_set(minor, &set_);
      if (GSS_ERROR(major)) return major;
    }
    return gss_add_oid_set_member(minor, oid, &set_);
  }
  void Reset() {
    if (set_ != GSS_C_NO_OID_SET) {
      OM_uint32 minor = 0;
      gss_release_oid_set(&minor, &set_);
    }
  }

 private:
  gss_OID_set set_ = GSS_C_NO_OID_SET;
};

// A security context handle. Deleting it never produces an output token: the peers we serve
// do not expect one (RFC 2744 deprecates it).
class SecurityContext {
 public:
  SecurityContext() = default;
  explicit SecurityContext(gss_ctx_id_t ctx) : ctx_(ctx) {}
  ~SecurityContext() { Reset(); }
  SecurityContext(const SecurityContext&) = delete;
  SecurityContext& operator=(const SecurityContext&) = delete;
  SecurityContext(SecurityContext&& other) noexcept
      : ctx_(std::exchange(other.ctx_, GSS_C_NO_CONTEXT)) {}
  SecurityContext& operator=(SecurityContext&& other) noexcept {
    if (this != &other) {
      Reset();
      ctx_ = std::exchange(other.ctx_, GSS_C_NO_CONTEXT);
    }
    return *this;
  }

  gss_ctx_id_t get() const { return ctx_; }
  gss_ctx_id_t* inout() { return &ctx_; }
  bool valid() const { return ctx_ != GSS_C_NO_CONTEXT; }
  void Reset() {
    if (ctx_ != GSS_C_NO_CONTEXT) {
      OM_uint32 minor = 0;
      gss_delete_sec_context(&minor, &ctx_, GSS_C_NO_BUFFER);
      ctx_ = GSS_C_NO_CONTEXT;
    }
  }

 private:
  gss_ctx_id_t ctx_ = GSS_C_NO_CONTEXT;
};

}  // namespace negotiate

#endif  // NEGOTIATE_GSS_HANDLES_H_
