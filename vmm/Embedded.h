#pragma once
// Files built into the vmm binary, so `vmm run` works from any folder with
// nothing beside it: the bundled guest kernel and the default config.

#include <cstdint>
#include <span>
#include <string_view>

namespace vmm::embedded {

std::span<const std::uint8_t> guest_kernel();
std::string_view default_config();

}  // namespace vmm::embedded
