#include "vmm/debug/PageWalk.h"

#include <cstring>

#include "vmm/kvm/ControlRegisters.h"

namespace vmm::debug {
namespace {

using x86::kCr0Pg, x86::kCr4Pae, x86::kCr4Pse, x86::kCr4La57, x86::kEferLma;

constexpr std::uint64_t kPresent = 1ull << 0;
constexpr std::uint64_t kPageSize = 1ull << 7;  // PS: this entry maps a large page
// Bits 51:12 of a 64-bit entry: the next table or the 4 KiB frame. The bits
// above (NX, protection keys, software bits) are not part of the address.
constexpr std::uint64_t kAddressMask = 0x000f'ffff'ffff'f000ull;

std::uint64_t low_bits(unsigned count) { return (1ull << count) - 1; }

std::optional<std::uint64_t> read_entry(const ReadPhysical& read, std::uint64_t address, unsigned bytes) {
  const auto entry = read(address, bytes);
  if (!entry) return std::nullopt;
  return bytes == 4 ? (*entry & 0xffff'ffffull) : *entry;
}

// Intel SDM vol. 3, 4.3: two levels of 1024 four-byte entries.
std::optional<std::uint64_t> walk_32bit(std::uint64_t va, const PagingState& paging, const ReadPhysical& read) {
  if (va > 0xffff'ffffull) return std::nullopt;
  const std::uint64_t pde_address = (paging.cr3 & 0xffff'f000ull) + ((va >> 22) & 0x3ff) * 4;
  const auto pde = read_entry(read, pde_address, 4);
  if (!pde || !(*pde & kPresent)) return std::nullopt;
  if ((*pde & kPageSize) && (paging.cr4 & kCr4Pse)) {
    // A 4 MiB page; PSE-36 puts physical bits 39:32 in PDE bits 20:13.
    const std::uint64_t base = (*pde & 0xffc0'0000ull) | (((*pde >> 13) & 0xff) << 32);
    return base | (va & low_bits(22));
  }
  const std::uint64_t pte_address = (*pde & 0xffff'f000ull) + ((va >> 12) & 0x3ff) * 4;
  const auto pte = read_entry(read, pte_address, 4);
  if (!pte || !(*pte & kPresent)) return std::nullopt;
  return (*pte & 0xffff'f000ull) | (va & low_bits(12));
}

// From a table at `table` down to the page: each level takes 9 bits of the
// address, starting at bit `shift`; a PS entry at the 1 GiB or 2 MiB level
// ends the walk early.
std::optional<std::uint64_t> walk_levels(std::uint64_t va, std::uint64_t table, unsigned shift,
                                         const ReadPhysical& read) {
  for (;; shift -= 9) {
    const auto entry = read_entry(read, table + ((va >> shift) & 0x1ff) * 8, 8);
    if (!entry || !(*entry & kPresent)) return std::nullopt;
    if (shift == 12) return (*entry & kAddressMask) | (va & low_bits(12));
    if ((shift == 21 || shift == 30) && (*entry & kPageSize))
      return (*entry & kAddressMask & ~low_bits(shift)) | (va & low_bits(shift));
    table = *entry & kAddressMask;
  }
}

// 4.4: a four-entry PDPT at CR3[31:5], then two 512-entry levels.
std::optional<std::uint64_t> walk_pae(std::uint64_t va, const PagingState& paging, const ReadPhysical& read) {
  if (va > 0xffff'ffffull) return std::nullopt;
  const std::uint64_t pdpte_address = (paging.cr3 & 0xffff'ffe0ull) + ((va >> 30) & 0x3) * 8;
  const auto pdpte = read_entry(read, pdpte_address, 8);
  if (!pdpte || !(*pdpte & kPresent)) return std::nullopt;
  return walk_levels(va, *pdpte & kAddressMask, 21, read);
}

// 4.5: four levels (five with CR4.LA57) of 512 entries; the address must be
// canonical, bits 63:48 (63:57) copies of bit 47 (56).
std::optional<std::uint64_t> walk_long(std::uint64_t va, const PagingState& paging, const ReadPhysical& read) {
  const bool five_level = paging.cr4 & kCr4La57;
  const unsigned top_bit = five_level ? 56 : 47;
  const std::uint64_t high = va >> top_bit;
  const std::uint64_t all_ones = (1ull << (64 - top_bit)) - 1;
  if (high != 0 && high != all_ones) return std::nullopt;
  return walk_levels(va, paging.cr3 & kAddressMask, five_level ? 48 : 39, read);
}

}  // namespace

std::optional<std::uint64_t> translate(std::uint64_t virtual_address, const PagingState& paging,
                                       const ReadPhysical& read) {
  if (!read) return std::nullopt;
  if (!(paging.cr0 & kCr0Pg)) return virtual_address;
  if (paging.efer & kEferLma) return walk_long(virtual_address, paging, read);
  if (paging.cr4 & kCr4Pae) return walk_pae(virtual_address, paging, read);
  return walk_32bit(virtual_address, paging, read);
}

ReadPhysical read_from(const GuestMemory& memory) {
  return [&memory](std::uint64_t at, unsigned bytes) -> std::optional<std::uint64_t> {
    const auto host = memory.host_span(at, bytes);
    if (host.empty()) return std::nullopt;
    std::uint64_t value = 0;
    std::memcpy(&value, host.data(), bytes);
    return value;
  };
}

}  // namespace vmm::debug
