#pragma once
// Guest-virtual to guest-physical translation by walking the guest's page
// tables as the CPU would (Intel SDM vol. 3, 4.3-4.5): no paging, 32-bit
// paging (4 KiB and 4 MiB pages), PAE (4 KiB and 2 MiB) and 4-level long mode
// (4 KiB, 2 MiB and 1 GiB pages). Pure: memory is read through a callback, so
// it is unit-tested with made-up tables and needs no vCPU.

#include <cstdint>
#include <functional>
#include <optional>

#include "vmm/GuestMemory.h"

namespace vmm::debug {

struct PagingState {
  std::uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
};

// Reads a little-endian 32- or 64-bit table entry at a guest-physical address;
// nullopt outside guest memory.
using ReadPhysical = std::function<std::optional<std::uint64_t>(std::uint64_t address, unsigned bytes)>;

// nullopt if a level is not present, an entry lies outside guest memory, or
// the address is not canonical (long mode).
std::optional<std::uint64_t> translate(std::uint64_t virtual_address, const PagingState& paging,
                                       const ReadPhysical& read);

// Table entries read from guest RAM, bounds-checked.
ReadPhysical read_from(const GuestMemory& memory);

}  // namespace vmm::debug
