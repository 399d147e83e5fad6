#pragma once
// The BIOS memory map (e820) of a GuestMemory, as a PC's firmware reports it:
// conventional memory up to the EBDA, the EBDA and the BIOS area reserved, RAM
// from 1 MiB to the MMIO hole, and RAM above 4 GiB. What the Multiboot memory
// map and Linux's boot_params.e820_table both carry.

#include <cstdint>
#include <vector>

#include "vmm/GuestMemory.h"

namespace vmm {

struct MemoryMapEntry {
  enum Type : std::uint32_t { kUsable = 1, kReserved = 2 };  // E820_TYPE_RAM, E820_TYPE_RESERVED
  std::uint64_t base;
  std::uint64_t length;
  std::uint32_t type;
};

namespace memory_map {
constexpr std::uint64_t kEbdaStart = 0x9fc00;
constexpr std::uint64_t kVgaStart = 0xa0000;
constexpr std::uint64_t kBiosStart = 0xf0000;
constexpr std::uint64_t kHighMemory = 0x100000;
}  // namespace memory_map

std::vector<MemoryMapEntry> bios_memory_map(const GuestMemory& memory);

}  // namespace vmm
