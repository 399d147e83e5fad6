#pragma once
// A 64-bit entry as Linux's 64-bit boot protocol defines it (boot.rst,
// "64-bit Boot Protocol"): long mode with paging on, an identity map of the
// low 4 GiB (2 MiB pages), and a GDT whose selectors 0x10 (__BOOT_CS) and 0x18
// (__BOOT_DS) are flat. The page tables and the GDT go in conventional memory
// below the EBDA, where the loaders put nothing else.

#include <cstdint>

#include "vmm/GuestMemory.h"
#include "vmm/loader/EntryState.h"

namespace vmm {

namespace long_mode {
constexpr std::uint64_t kGdtAddress = 0x500;
constexpr std::uint64_t kPml4Address = 0x9000;
constexpr std::uint64_t kPdptAddress = 0xa000;
constexpr std::uint64_t kPageDirectoriesAddress = 0xb000;  // four, 0xb000-0xefff
constexpr std::uint64_t kTablesEnd = 0xf000;
constexpr std::uint64_t kIdentityMappedBytes = 4ull << 30;
constexpr std::uint16_t kCodeSelector = 0x10;
constexpr std::uint16_t kDataSelector = 0x18;
}  // namespace long_mode

// Writes the GDT and page tables; `rip` and `rsi` as the protocol wants them.
// Needs guest RAM up to long_mode::kTablesEnd (every VM has 2 MiB).
EntryState enter_long_mode(GuestMemory& memory, std::uint64_t rip, std::uint64_t rsi);

}  // namespace vmm
