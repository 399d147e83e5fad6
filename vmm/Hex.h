#pragma once
// Addresses, ports and fields in messages: "0x" and lowercase hex digits,
// zero-padded to `digits` when given.

#include <cstdint>
#include <cstdio>
#include <string>

namespace vmm {

inline std::string hex(std::uint64_t value, int digits = 0) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%0*llx", digits, static_cast<unsigned long long>(value));
  return text;
}

}  // namespace vmm
