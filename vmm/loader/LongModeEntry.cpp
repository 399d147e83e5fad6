#include "vmm/loader/LongModeEntry.h"

#include <array>
#include <cstring>

namespace vmm {

namespace {

constexpr std::uint64_t kPresent = 1u << 0, kWritable = 1u << 1, kLargePage = 1u << 7;
constexpr std::uint64_t kLargePageBytes = 2ull << 20;
constexpr unsigned kEntriesPerTable = 512;

template <std::size_t N>
void write_u64s(GuestMemory& memory, std::uint64_t address, const std::array<std::uint64_t, N>& values) {
  std::array<std::uint8_t, N * 8> bytes;
  std::memcpy(bytes.data(), values.data(), bytes.size());
  memory.write(address, bytes);
}

}  // namespace

EntryState enter_long_mode(GuestMemory& memory, std::uint64_t rip, std::uint64_t rsi) {
  using namespace long_mode;
  // Null, null, then flat code (L=1, D=0, execute/read) and flat data
  // (read/write) at the selectors the protocol names.
  write_u64s<4>(memory, kGdtAddress, {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull});

  std::array<std::uint64_t, kEntriesPerTable> table{};
  table[0] = kPdptAddress | kPresent | kWritable;
  write_u64s(memory, kPml4Address, table);
  constexpr unsigned kDirectories = kIdentityMappedBytes >> 30;
  table.fill(0);
  for (unsigned i = 0; i < kDirectories; ++i)
    table[i] = (kPageDirectoriesAddress + i * 0x1000) | kPresent | kWritable;
  write_u64s(memory, kPdptAddress, table);
  for (unsigned directory = 0; directory < kDirectories; ++directory) {
    for (unsigned i = 0; i < kEntriesPerTable; ++i)
      table[i] = ((std::uint64_t{directory} * kEntriesPerTable + i) * kLargePageBytes) | kPresent | kWritable | kLargePage;
    write_u64s(memory, kPageDirectoriesAddress + directory * 0x1000, table);
  }
  static_assert(kPageDirectoriesAddress + kDirectories * 0x1000 == kTablesEnd);

  EntryState state;
  state.mode = EntryState::Mode::Long64;
  state.rip = rip;
  state.rsi = rsi;
  state.cr3 = kPml4Address;
  state.gdt_base = kGdtAddress;
  state.gdt_limit = 4 * 8 - 1;
  return state;
}

}  // namespace vmm
