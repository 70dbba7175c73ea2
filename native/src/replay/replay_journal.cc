#include "replay_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "le_words.h"

namespace negotiate {
namespace {

constexpr char kKeyMagic[8] = {'N', 'S', 'R', 'J', 'K', 'E', 'Y', '1'};
constexpr char kTagsMagic[8] = {'N', 'S', 'R', 'J', 'T', 'A', 'G', '1'};
constexpr size_t kKeyFileBytes = sizeof kKeyMagic + kTagKeyBytes;
constexpr char kTagsSuffix[] = ".tags";

std::string Errno(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

// The number of a journal file from its name, or false for any other name.
bool NumberOfName(const char* name, uint64_t* number) {
  if (std::strlen(name) != 16 + sizeof kTagsSuffix - 1 || std::strcmp(name + 16, kTagsSuffix) != 0)
    return false;
  uint64_t n = 0;
  for (int i = 0; i < 16; ++i) {
    char c = name[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    n = (n << 4) | static_cast<uint64_t>(d);
  }
  *number = n;
  return true;
}

// Reads exactly `len` bytes unless the file ends first; the count read, or -1.
ssize_t ReadFull(int fd, uint8_t* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

// A file of ours: regular, owned by this user, not readable or writable by anyone else.
bool PrivateFile(int fd, const std::string& path, std::string* error) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *error = Errno("cannot stat", path);
    return false;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    *error = path + " must be a regular file owned by uid " + std::to_string(geteuid()) +
             " with no access for group or others";
    return false;
  }
  return true;
}

// A journal file's name in DIR (NumberOfName's inverse).
std::string NameOf(uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx%s", static_cast<unsigned long long>(number),
                kTagsSuffix);
  return name;
}

}  // namespace

std::string ReplayJournal::PathOf(uint64_t number) const { return dir_ + "/" + NameOf(number); }

std::unique_ptr<ReplayJournal> ReplayJournal::Open(const std::string& dir, uint64_t oldest_wall_ms,
                                                   std::string* error) {
  std::unique_ptr<ReplayJournal> j(new ReplayJournal());
  j->dir_ = dir;
  j->dir_fd_ = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!j->dir_fd_.valid()) {
    *error = Errno("cannot open the replay journal directory", dir);
    return nullptr;
  }
  struct stat st;
  if (fstat(j->dir_fd_.get(), &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
    *error = "the replay journal directory " + dir + " must be owned by uid " +
             std::to_string(geteuid()) + " and not writable by group or others";
    return nullptr;
  }
  j->lock_fd_ =
      UniqueFd(::openat(j->dir_fd_.get(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!j->lock_fd_.valid()) {
    *error = Errno("cannot open", dir + "/lock");
    return nullptr;
  }
  if (flock(j->lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    *error = errno == EWOULDBLOCK
                 ? "the replay journal " + dir + " is in use by another process (or server)"
                 : Errno("cannot lock", dir + "/lock");
    return nullptr;
  }
  std::vector<uint64_t> numbers;
  if (!j->ListFiles(&numbers, error) || !j->ReadKey(numbers, error) ||
      !j->ReadFiles(numbers, oldest_wall_ms, error)) {
    return nullptr;
  }
  return j;
}

bool ReplayJournal::ListFiles(std::vector<uint64_t>* numbers, std::string* error) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(fdopendir(::dup(dir_fd_.get())), closedir);
  if (!d) {
    *error = Errno("cannot list", dir_);
    return false;
  }
  uint64_t n = 0;
  for (struct dirent* e = readdir(d.get()); e != nullptr; e = readdir(d.get())) {
    if (NumberOfName(e->d_name, &n)) numbers->push_back(n);
  }
  std::sort(numbers->begin(), numbers->end());
  return true;
}

bool ReplayJournal::ReadKey(const std::vector<uint64_t>& numbers, std::string* error) {
  const std::string path = dir_ + "/key";
  uint8_t buf[kKeyFileBytes + 1];
  uint8_t key_bytes[kTagKeyBytes];
  UniqueFd fd(::openat(dir_fd_.get(), "key", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT) {
    // A new journal. Journal files without their key could never match again: refuse them.
    if (!numbers.empty()) {
      *error = path + " is missing but " + PathOf(numbers.front()) +
               " holds tags made with it; restore the key, or remove the .tags files once " +
               "2 x clockskew has passed since the last server using them stopped";
      return false;
    }
    // The process's own keys (random, tag_keys.h): tags it already made stay comparable.
    keys_ = CurrentTagKeys();
    std::memcpy(buf, kKeyMagic, sizeof kKeyMagic);
    TagKeysToBytes(keys_, key_bytes);
    std::memcpy(buf + sizeof kKeyMagic, key_bytes, kTagKeyBytes);
    explicit_bzero(key_bytes, sizeof key_bytes);
    UniqueFd out(
        ::openat(dir_fd_.get(), "key", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    bool ok = out.valid() &&
              ::write(out.get(), buf, kKeyFileBytes) == static_cast<ssize_t>(kKeyFileBytes) &&
              fsync(out.get()) == 0;
    explicit_bzero(buf, sizeof buf);
    if (!ok) {
      *error = Errno("cannot write", path);
      if (out.valid()) ::unlinkat(dir_fd_.get(), "key", 0);
      return false;
    }
  } else {
    if (!fd.valid()) {
      *error = Errno("cannot open", path);
      return false;
    }
    if (!PrivateFile(fd.get(), path, error)) return false;
    ssize_t n = ReadFull(fd.get(), buf, sizeof buf);
    if (n != static_cast<ssize_t>(kKeyFileBytes) ||
        std::memcmp(buf, kKeyMagic, sizeof kKeyMagic) != 0) {
      explicit_bzero(buf, sizeof buf);
      *error = path + " is not a replay journal key (" + std::to_string(kKeyFileBytes) +
               " bytes starting NSRJKEY1)";
      return false;
    }
    std::memcpy(key_bytes, buf + sizeof kKeyMagic, kTagKeyBytes);
    keys_ = TagKeysFromBytes(key_bytes);
    explicit_bzero(key_bytes, sizeof key_bytes);
    explicit_bzero(buf, sizeof buf);
  }
  static const char kCheckInput[] = "negotiate-server replay journal";
  key_check_ = SipHash24(keys_.principal, reinterpret_cast<const uint8_t*>(kCheckInput),
                         sizeof kCheckInput - 1);
  return true;
}

bool ReplayJournal::ReadFiles(const std::vector<uint64_t>& numbers, uint64_t oldest_wall_ms,
                              std::string* error) {
  for (uint64_t n : numbers) {
    if (!ReadFile(n, oldest_wall_ms, error)) return false;
  }
  if (!numbers.empty()) next_number_ = numbers.back() + 1;
  // Only once every file read: files with nothing left in the window go.
  std::vector<JournalFile> kept;
  for (JournalFile& f : loaded_) {
    if (f.records.empty()) {
      Remove(f.number);
    } else {
      kept.push_back(std::move(f));
    }
  }
  loaded_ = std::move(kept);
  return true;
}

bool ReplayJournal::ReadFile(uint64_t number, uint64_t oldest_wall_ms, std::string* error) {
  const std::string name = NameOf(number);
  const std::string path = PathOf(number);
  UniqueFd fd(::openat(dir_fd_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    *error = Errno("cannot open", path);
    return false;
  }
  if (!PrivateFile(fd.get(), path, error)) return false;
  ++files_;
  JournalFile file;
  file.number = number;
  uint8_t header[kHeaderBytes];
  ssize_t got = ReadFull(fd.get(), header, sizeof header);
  if (got < 0) {
    *error = Errno("cannot read", path);
    return false;
  }
  // A header cut short can only be a crash while the file was being started: no record follows.
  if (got == static_cast<ssize_t>(sizeof header)) {
    if (std::memcmp(header, kTagsMagic, sizeof kTagsMagic) != 0) {
      *error = path + " is not a replay journal file (no NSRJTAG1 header)";
      return false;
    }
    if (LoadLe64(header + 8) != key_check_) {
      *error = path + " was written under another key than " + dir_ + "/key";
      return false;
    }
    std::vector<uint8_t> buf(kRecordBytes * 2048);
    for (;;) {
      ssize_t n = ReadFull(fd.get(), buf.data(), buf.size());
      if (n < 0) {
        *error = Errno("cannot read", path);
        return false;
      }
      // A torn last record (the process died while writing it) is left out: its handshake was
      // refused or never answered.
      size_t whole = static_cast<size_t>(n) / kRecordBytes;
      for (size_t i = 0; i < whole; ++i) {
        const uint8_t* p = buf.data() + i * kRecordBytes;
        JournalRecord r;
        r.tag.hi = LoadLe64(p);
        r.tag.lo = LoadLe64(p + 8);
        r.principal_hash = LoadLe64(p + 16);
        r.wall_ms = LoadLe64(p + 24);
        if (r.wall_ms >= oldest_wall_ms) file.records.push_back(r);
      }
      if (static_cast<size_t>(n) < buf.size()) break;
    }
  }
  loaded_.push_back(std::move(file));
  return true;
}

bool ReplayJournal::StartFile(uint64_t* number, std::string* error) {
  const uint64_t n = next_number_;
  const std::string name = NameOf(n);
  const std::string path = PathOf(n);
  UniqueFd fd(::openat(dir_fd_.get(), name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    *error = Errno("cannot create", path);
    ++failures_;
    return false;
  }
  uint8_t header[kHeaderBytes];
  std::memcpy(header, kTagsMagic, sizeof kTagsMagic);
  StoreLe64(key_check_, header + 8);
  if (::write(fd.get(), header, sizeof header) != static_cast<ssize_t>(sizeof header)) {
    *error = Errno("cannot write", path);
    ::unlinkat(dir_fd_.get(), name.c_str(), 0);
    ++failures_;
    return false;
  }
  ++next_number_;
  ++files_;
  current_ = std::move(fd);
  current_size_ = sizeof header;
  broken_ = false;
  *number = n;
  return true;
}

bool ReplayJournal::Append(const JournalRecord& record, std::string* error) {
  if (broken_ || !current_.valid()) {
    *error = "the replay journal " + dir_ + " could not undo an earlier failed write";
    ++failures_;
    return false;
  }
  uint8_t buf[kRecordBytes];
  StoreLe64(record.tag.hi, buf);
  StoreLe64(record.tag.lo, buf + 8);
  StoreLe64(record.principal_hash, buf + 16);
  StoreLe64(record.wall_ms, buf + 24);
  ssize_t n;
  do {
    n = ::write(current_.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof buf)) {
    current_size_ += sizeof buf;
    return true;
  }
  *error = n < 0 ? Errno("cannot append to the replay journal in", dir_)
                 : "cannot append to the replay journal in " + dir_ + ": short write";
  ++failures_;
  // Cut a partial record off, or every later record would be read misaligned after a restart.
  if (n > 0 && ftruncate(current_.get(), static_cast<off_t>(current_size_)) != 0) broken_ = true;
  return false;
}

void ReplayJournal::Remove(uint64_t number) {
  const std::string name = NameOf(number);
  if (::unlinkat(dir_fd_.get(), name.c_str(), 0) == 0 && files_ > 0) --files_;
  if (number + 1 == next_number_ && current_.valid()) current_.Reset();
}

}  // namespace negotiate
