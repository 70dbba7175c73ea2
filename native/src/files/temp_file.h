// The owner of a file this thread created (mkstemp): removed when the owner goes out of scope,
// unless kept. Used where a credential is written to a temporary name and renamed into place,
// so a failure at any step leaves nothing behind.
#ifndef NEGOTIATE_FILES_TEMP_FILE_H_
#define NEGOTIATE_FILES_TEMP_FILE_H_

#include <unistd.h>

#include <string>
#include <utility>

namespace negotiate {

class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  // The path, no longer removed by this owner.
  std::string Keep() { return std::exchange(path_, std::string()); }

 private:
  std::string path_;
};

}  // namespace negotiate

#endif  // NEGOTIATE_FILES_TEMP_FILE_H_
