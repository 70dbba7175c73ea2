// The checks of the C++ unit programs that test/support/ccUnit.ts builds and runs: a failed check
// prints one line, Report() prints "N passed, M failed" last and gives the exit status.
#ifndef NEGOTIATE_TEST_UNIT_CHECK_H_
#define NEGOTIATE_TEST_UNIT_CHECK_H_

#include <cstdio>
#include <string>

namespace unit {

inline int passed = 0;
inline int failed = 0;

inline void Check(bool ok, const std::string& what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::printf("FAIL %s\n", what.c_str());
  }
}

inline int Report() {
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace unit

#endif  // NEGOTIATE_TEST_UNIT_CHECK_H_
