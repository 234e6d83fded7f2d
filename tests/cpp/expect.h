// The check macro of the host header tests: EXPECT(cond) prints the failing condition and counts it;
// main() returns `failures != 0` (ctest reads the exit status).
#pragma once
#include <cstdio>

static int failures = 0;
#define EXPECT(cond)                                                \
  do {                                                              \
    if (!(cond)) {                                                  \
      std::printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                   \
    }                                                               \
  } while (0)
