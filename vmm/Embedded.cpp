#include "vmm/Embedded.h"

// Defined in EmbeddedData.S (.incbin of the build's kernel.elf and configs/default.json).
extern "C" const std::uint8_t vmm_guest_kernel_start[], vmm_guest_kernel_end[];
extern "C" const std::uint8_t vmm_default_config_start[], vmm_default_config_end[];

namespace vmm::embedded {

std::span<const std::uint8_t> guest_kernel() { return {vmm_guest_kernel_start, vmm_guest_kernel_end}; }

std::string_view default_config() {
  return {reinterpret_cast<const char*>(vmm_default_config_start),
          static_cast<std::size_t>(vmm_default_config_end - vmm_default_config_start)};
}

}  // namespace vmm::embedded
