#pragma once
// How the kernel loaders report a malformed image: one InputError line,
// "kernel image: <why>", with addresses and fields in hex.

#include <cstdint>
#include <cstdio>
#include <string>

#include "vmm/Errors.h"
#include "vmm/Hex.h"

namespace vmm::loader {

[[noreturn]] inline void bad_image(const std::string& why) { throw InputError("kernel image: " + why); }

using vmm::hex;

}  // namespace vmm::loader
