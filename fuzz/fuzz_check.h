// FUZZ_CHECK(cond, what): the fuzz targets' assertion. It stays on in every build mode and
// aborts with a message, which libFuzzer reports as a crash with the input that caused it.
#ifndef CONNMGR_FUZZ_FUZZ_CHECK_H_
#define CONNMGR_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, what)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                              \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

#endif  // CONNMGR_FUZZ_FUZZ_CHECK_H_
