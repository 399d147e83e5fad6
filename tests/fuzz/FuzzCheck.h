#pragma once
// The fuzzers' assertion: report what broke and where, then trap so that libFuzzer
// keeps the input as a crash reproducer.

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                      \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      std::fprintf(stderr, "invariant broken: %s (%s:%d)\n", #condition, __FILE__, __LINE__);     \
      __builtin_trap();                                                                            \
    }                                                                                              \
  } while (0)

// With VMM_FUZZ_TRACE set, the fuzzers print each step they take: run one input
// by hand to see the sequence that breaks an invariant.
inline void fuzz_trace(const char* format, ...) {
  static const bool enabled = std::getenv("VMM_FUZZ_TRACE") != nullptr;
  if (!enabled) return;
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
}
