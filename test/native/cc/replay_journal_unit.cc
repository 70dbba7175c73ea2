// Unit checks of the replay journal (native/src/replay/replay_journal.h) through the replay
// cache, on a clock the test moves and in fresh directories: tags survive a "restart" (a second
// cache on the same directory), expire by their recorded time, their files go when they do;
// every way a restart could forget a tag fails closed (a second user of the directory, a
// directory or key others can write or read, a foreign or re-keyed journal file, a key missing
// beside its journal, a write that fails). Built and run by test/native/replayJournalUnit.test.ts.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../../../native/src/replay/replay_cache.h"
#include "fake_replay_clock.h"
#include "unit_check.h"

using negotiate::ReplayCache;
using negotiate::ReplayCacheConfig;
using negotiate::ReplayTag;
using Result = ReplayCache::Result;
using unit::Check;

namespace {

constexpr uint64_t kWindow = 600000;

using unit::FakeClock;
using unit::TagN;

std::string NewDir() {
  char templ[] = "/tmp/replay-journal-unit-XXXXXX";
  char* d = mkdtemp(templ);
  if (d == nullptr) std::abort();
  return d;
}

void RemoveDir(const std::string& dir) {
  std::string cmd = "rm -rf '" + dir + "'";
  if (std::system(cmd.c_str()) != 0) std::printf("could not remove %s\n", dir.c_str());
}

std::vector<std::string> TagFiles(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  for (struct dirent* e = d ? readdir(d) : nullptr; e != nullptr; e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.substr(n.size() - 5) == ".tags") out.push_back(dir + "/" + n);
  }
  if (d) closedir(d);
  return out;
}

off_t SizeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

// A cache on `dir`, or null with the error in `error`.
std::unique_ptr<ReplayCache> OpenCache(FakeClock* clock, const std::string& dir, std::string* error,
                                       size_t capacity = 1000, size_t quota = 0) {
  auto cache = std::make_unique<ReplayCache>(clock);
  ReplayCacheConfig config{kWindow, capacity, quota, dir};
  if (!cache->Configure(config, error)) return nullptr;
  return cache;
}

void SurvivesRestart() {
  FakeClock clock;
  std::string dir = NewDir(), error;
  {
    auto cache = OpenCache(&clock, dir, &error);
    Check(cache != nullptr, "restart: a new journal opens (" + error + ")");
    if (!cache) return;
    for (uint64_t i = 1; i <= 5; ++i)
      Check(cache->Record(TagN(i), 7) == Result::kFresh, "restart: fresh");
    Check(cache->Stats().journal && cache->Stats().journal_files == 1, "restart: one journal file");
    auto second = OpenCache(&clock, dir, &error);
    Check(second == nullptr && error.find("in use") != std::string::npos,
          "restart: a second cache on the same directory is refused while the first holds it: " +
              error);
  }
  struct stat st;
  Check(stat((dir + "/key").c_str(), &st) == 0 && (st.st_mode & 0777) == 0600,
        "restart: key is 0600");
  clock.Advance(60000);
  error.clear();
  auto cache = OpenCache(&clock, dir, &error);
  Check(cache != nullptr, "restart: the journal opens again (" + error + ")");
  if (!cache) return;
  Check(cache->Stats().journal_loaded == 5 && cache->Stats().entries == 5,
        "restart: five tags loaded");
  for (uint64_t i = 1; i <= 5; ++i)
    Check(cache->Record(TagN(i), 7) == Result::kReplay, "restart: a tag from before is a replay");
  Check(cache->Record(TagN(6), 7) == Result::kFresh, "restart: a new tag is fresh");
  Check(TagFiles(dir).size() == 2, "restart: the new tag went to a new file");
  cache.reset();
  // Expiry by the recorded wall time: tags 1-5 were recorded 60 s before tag 6.
  clock.Advance(kWindow - 60000 + 1);
  cache = OpenCache(&clock, dir, &error);
  Check(cache != nullptr && cache->Stats().journal_loaded == 1,
        "restart: only the tag still in its window loads");
  Check(TagFiles(dir).size() == 1, "restart: the file with nothing left in the window is removed");
  if (cache) {
    Check(cache->Record(TagN(1), 7) == Result::kFresh, "restart: an expired tag is fresh again");
    Check(cache->Record(TagN(6), 7) == Result::kReplay, "restart: the later tag is still a replay");
    // Past every window on both clocks, every file but the newest generation's goes.
    clock.Advance(kWindow + kWindow / 4 + 1);
    Check(cache->Record(TagN(99), 7) == Result::kFresh, "restart: later record");
    Check(TagFiles(dir).size() == 1, "restart: expired generations' files removed as they drop");
  }
  RemoveDir(dir);
}

void QuotaCountsLoadedTags() {
  FakeClock clock;
  std::string dir = NewDir(), error;
  {
    auto cache = OpenCache(&clock, dir, &error, 100, 3);
    for (uint64_t i = 1; i <= 3; ++i) cache->Record(TagN(i), 42);
  }
  auto cache = OpenCache(&clock, dir, &error, 100, 3);
  Check(cache != nullptr && cache->Record(TagN(10), 42) == Result::kQuota,
        "quota: a principal's tags from before the restart count against its quota");
  Check(cache != nullptr && cache->Record(TagN(11), 43) == Result::kFresh, "quota: others proceed");
  cache.reset();
  // Capacity too: three loaded tags in a cache of three leave no room.
  cache = OpenCache(&clock, dir, &error, 3, 3);
  Check(cache != nullptr && cache->Record(TagN(12), 44) == Result::kFull,
        "capacity: loaded tags fill it");
  RemoveDir(dir);
}

void UnsafeDirectoriesAndKeys() {
  FakeClock clock;
  std::string error;
  std::string dir = NewDir();
  chmod(dir.c_str(), 0777);
  Check(OpenCache(&clock, dir, &error) == nullptr &&
            error.find("not writable by group or others") != std::string::npos,
        "a world-writable directory is refused: " + error);
  chmod(dir.c_str(), 0700);
  Check(OpenCache(&clock, dir, &error) != nullptr, "the same directory at 0700 opens");
  chmod((dir + "/key").c_str(), 0640);
  Check(OpenCache(&clock, dir, &error) == nullptr &&
            error.find("no access for group or others") != std::string::npos,
        "a key readable by the group is refused: " + error);
  chmod((dir + "/key").c_str(), 0600);
  Check(truncate((dir + "/key").c_str(), 20) == 0 && OpenCache(&clock, dir, &error) == nullptr &&
            error.find("not a replay journal key") != std::string::npos,
        "a key of the wrong size is refused: " + error);
  RemoveDir(dir);

  dir = NewDir();
  Check(OpenCache(&clock, dir + "/missing", &error) == nullptr &&
            error.find("cannot open") != std::string::npos,
        "a missing directory is refused: " + error);
  {
    auto cache = OpenCache(&clock, dir, &error);
    cache->Record(TagN(1), 1);
  }
  unlink((dir + "/key").c_str());
  Check(OpenCache(&clock, dir, &error) == nullptr &&
            error.find("is missing but") != std::string::npos,
        "journal files without their key are refused, not silently re-keyed: " + error);
  RemoveDir(dir);
}

void ForeignAndTornFiles() {
  FakeClock clock;
  std::string error;
  std::string a = NewDir();
  {
    auto ca = OpenCache(&clock, a, &error);
    for (uint64_t i = 1; i <= 3; ++i) ca->Record(TagN(i), 1);
  }
  // A file written under another key (its header's key check differs): refused, never read as
  // ours. Made from one of ours with the check's bytes changed.
  std::string copy = a + "/00000000000000ff.tags";
  Check(
      std::system(
          ("cp '" + TagFiles(a).at(0) + "' '" + copy + "' && chmod 600 '" + copy + "'").c_str()) ==
          0,
      "copy");
  {
    std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.write("01234567", 8);
  }
  Check(OpenCache(&clock, a, &error) == nullptr && error.find("another key") != std::string::npos,
        "a journal file under another key is refused: " + error);
  unlink(copy.c_str());
  {
    std::ofstream junk(copy, std::ios::binary);
    junk << "this is not a journal file, but long enough";
  }
  chmod(copy.c_str(), 0600);
  Check(OpenCache(&clock, a, &error) == nullptr &&
            error.find("not a replay journal file") != std::string::npos,
        "a file with our name but not our header is refused: " + error);
  unlink(copy.c_str());
  // A torn last record (a crash in the middle of its write) is left out; the others load.
  std::string ours = TagFiles(a).at(0);
  off_t size = SizeOf(ours);
  Check(truncate(ours.c_str(), size - 5) == 0, "tear the last record");
  auto cache = OpenCache(&clock, a, &error);
  Check(cache != nullptr && cache->Stats().journal_loaded == 2,
        "a torn last record is left out (" + error + ")");
  if (cache) {
    Check(cache->Record(TagN(1), 1) == Result::kReplay &&
              cache->Record(TagN(2), 1) == Result::kReplay,
          "the whole records still count");
  }
  RemoveDir(a);
}

void WriteFailureFailsClosed() {
  FakeClock clock;
  std::string dir = NewDir(), error;
  auto cache = OpenCache(&clock, dir, &error);
  Check(cache != nullptr && cache->Record(TagN(1), 1) == Result::kFresh,
        "write failure: first record");
  std::string file = TagFiles(dir).at(0);
  off_t size = SizeOf(file);
  // The file size limit makes the next append fail (EFBIG), as a full disk would.
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old_limit, limit;
  getrlimit(RLIMIT_FSIZE, &old_limit);
  limit = old_limit;
  limit.rlim_cur = static_cast<rlim_t>(size + 10);
  setrlimit(RLIMIT_FSIZE, &limit);
  std::string why;
  Check(cache->Record(TagN(2), 1, &why) == Result::kUnjournaled && !why.empty(),
        "write failure: the handshake is refused, with the reason: " + why);
  Check(cache->Stats().refused_journal == 1, "write failure: counted");
  setrlimit(RLIMIT_FSIZE, &old_limit);
  Check(SizeOf(file) == size, "write failure: the partial record was cut off");
  Check(cache->Record(TagN(2), 1) == Result::kFresh,
        "write failure: the tag was not remembered, it records now");
  Check(cache->Record(TagN(3), 1) == Result::kFresh, "write failure: later records go on");
  cache.reset();
  cache = OpenCache(&clock, dir, &error);
  Check(cache != nullptr && cache->Stats().journal_loaded == 3,
        "write failure: the journal reads back aligned");
  RemoveDir(dir);
}

}  // namespace

int main() {
  SurvivesRestart();
  QuotaCountsLoadedTags();
  UnsafeDirectoriesAndKeys();
  ForeignAndTornFiles();
  WriteFailureFailsClosed();
  return unit::Report();
}
