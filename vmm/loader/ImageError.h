#pragma once
// How the kernel loaders report a malformed image: one InputError line,
// "kernel image: <why>", with addresses and fields in hex.

#include <cstdint>
#include <cstdio>
#include <string>

#include "vmm/Errors.h"

namespace vmm::loader {

[[noreturn]] inline void bad_image(const std::string& why) { throw InputError("kernel image: " + why); }

inline std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace vmm::loader
