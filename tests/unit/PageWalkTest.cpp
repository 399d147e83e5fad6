#include "vmm/debug/PageWalk.h"

#include <gtest/gtest.h>

#include <map>

namespace vmm::debug {
namespace {

constexpr std::uint64_t kP = 1 << 0, kRw = 1 << 1, kPs = 1 << 7;
constexpr std::uint64_t kNx = 1ull << 63;
constexpr std::uint64_t kCr0Pg = 1ull << 31, kCr0Pe = 1;
constexpr std::uint64_t kCr4Pse = 1 << 4, kCr4Pae = 1 << 5, kCr4La57 = 1 << 12;
constexpr std::uint64_t kEferLme = 1 << 8, kEferLma = 1 << 10;

// Made-up guest memory: 1 MiB that reads as zeros except for the entries set.
class Memory {
 public:
  static constexpr std::uint64_t kSize = 1 << 20;
  void set(std::uint64_t address, std::uint64_t entry) { entries_[address] = entry; }
  void clear_bits(std::uint64_t address, std::uint64_t bits) { entries_[address] &= ~bits; }
  ReadPhysical reader() {
    return [this](std::uint64_t address, unsigned bytes) -> std::optional<std::uint64_t> {
      ++reads;
      EXPECT_TRUE(bytes == 4 || bytes == 8);
      EXPECT_EQ(address % bytes, 0u) << "unaligned entry at " << std::hex << address;
      if (address >= kSize || kSize - address < bytes) return std::nullopt;
      const auto it = entries_.find(address);
      return it == entries_.end() ? 0 : it->second;
    };
  }
  unsigned reads = 0;

 private:
  std::map<std::uint64_t, std::uint64_t> entries_;
};

std::optional<std::uint64_t> walk(Memory& memory, std::uint64_t va, const PagingState& paging) {
  return translate(va, paging, memory.reader());
}

const PagingState k32Bit{kCr0Pg | kCr0Pe, 0x1000, 0, 0};
const PagingState k32BitPse{kCr0Pg | kCr0Pe, 0x1000, kCr4Pse, 0};
const PagingState kPae{kCr0Pg | kCr0Pe, 0x1020, kCr4Pae, 0};  // the PDPT is 32-byte aligned, not page aligned
const PagingState kLong{kCr0Pg | kCr0Pe, 0x1000, kCr4Pae, kEferLme | kEferLma};

TEST(PageWalk, NoPagingIsIdentity) {
  Memory memory;
  for (const std::uint64_t va : {0ull, 0x1234ull, 0xb8000ull, 0xffffffffull}) {
    EXPECT_EQ(walk(memory, va, PagingState{}), va);
    EXPECT_EQ(walk(memory, va, PagingState{kCr0Pe, 0x1000, kCr4Pae, 0}), va);  // protected mode, PG clear
  }
  EXPECT_EQ(memory.reads, 0u);
}

TEST(PageWalk, NoReaderGivesNothing) { EXPECT_FALSE(translate(0x1000, k32Bit, ReadPhysical{})); }

TEST(PageWalk, Paging32With4KiBPages) {
  Memory memory;
  memory.set(0x1000 + 1 * 4, 0x2000 | kP | kRw);  // PDE 1: va 0x00400000-0x007fffff
  memory.set(0x2000 + 3 * 4, 0x5000 | kP);        // PTE 3
  EXPECT_EQ(walk(memory, 0x00403123, k32Bit), 0x5123u);
  EXPECT_EQ(walk(memory, 0x00403fff, k32Bit), 0x5fffu);
  EXPECT_FALSE(walk(memory, 0x00404000, k32Bit));  // PTE 4 not present
  EXPECT_FALSE(walk(memory, 0x00003000, k32Bit));  // PDE 0 not present
  EXPECT_FALSE(walk(memory, 0x100000000ull, k32Bit));  // beyond 32-bit linear addresses
  memory.clear_bits(0x2000 + 3 * 4, kP);
  EXPECT_FALSE(walk(memory, 0x00403123, k32Bit));
}

TEST(PageWalk, Paging32With4MiBPagesNeedsPse) {
  Memory memory;
  memory.set(0x1000 + 2 * 4, 0x00c00000 | kP | kPs);   // PDE 2: va 0x00800000
  memory.set(0x1000 + 0x300 * 4, 0x01000000 | kP | kPs | (0x3ull << 13));  // PSE-36: physical bits 33:32 = 3
  EXPECT_EQ(walk(memory, 0x00812345, k32BitPse), 0x00c12345u);
  EXPECT_EQ(walk(memory, 0x00bfffff, k32BitPse), 0x00ffffffu);
  EXPECT_EQ(walk(memory, 0xc0001234, k32BitPse), 0x301001234ull);
  // Without CR4.PSE the PS bit is ignored: the entry names a page table, here
  // outside guest memory.
  EXPECT_FALSE(walk(memory, 0x00812345, k32Bit));
}

TEST(PageWalk, PaeWith4KiBPages) {
  Memory memory;
  memory.set(0x1020 + 3 * 8, 0x3000 | kP);          // PDPTE 3: va 0xc0000000
  memory.set(0x3000 + 1 * 8, 0x4000 | kP | kRw);    // PDE 1
  memory.set(0x4000 + 1 * 8, 0x9000 | kP | kNx);    // PTE 1; NX is not part of the address
  EXPECT_EQ(walk(memory, 0xc0201abc, kPae), 0x9abcu);
  EXPECT_FALSE(walk(memory, 0x00201abc, kPae));  // PDPTE 0 not present
  EXPECT_FALSE(walk(memory, 0xc0001abc, kPae));  // PDE 0 not present
  EXPECT_FALSE(walk(memory, 0xc0202abc, kPae));  // PTE 2 not present
  EXPECT_FALSE(walk(memory, 0x1c0201abcull, kPae));
}

TEST(PageWalk, PaeWith2MiBPages) {
  Memory memory;
  memory.set(0x1020, 0x3000 | kP);
  memory.set(0x3000 + 5 * 8, 0x1'4020'0000ull | kP | kPs | (1 << 12));  // bit 12 is PAT, not address
  EXPECT_EQ(walk(memory, 0x00a12345, kPae), 0x1'4021'2345ull);
  EXPECT_EQ(walk(memory, 0x00bfffff, kPae), 0x1'403f'ffffull);
}

// Long mode: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000, PT at 0x4000, mapping
// the kernel's high half (0xffffffff80000000, PML4 511, PDPT 510).
Memory long_mode_tables() {
  Memory memory;
  memory.set(0x1000 + 511 * 8, 0x2000 | kP | kRw);
  memory.set(0x2000 + 510 * 8, 0x3000 | kP | kRw);
  memory.set(0x3000 + 0 * 8, 0x4000 | kP | kRw);
  memory.set(0x4000 + 1 * 8, 0x7000 | kP | kNx);
  return memory;
}

TEST(PageWalk, LongModeWith4KiBPages) {
  Memory memory = long_mode_tables();
  EXPECT_EQ(walk(memory, 0xffffffff80001234ull, kLong), 0x7234u);
  EXPECT_EQ(walk(memory, 0xffffffff80001fffull, kLong), 0x7fffu);
  EXPECT_FALSE(walk(memory, 0xffffffff80002000ull, kLong));
  EXPECT_EQ(memory.reads, 12u);  // four entries per walk
}

TEST(PageWalk, LongModeNotPresentAtEveryLevel) {
  const std::uint64_t entries[] = {0x1000 + 511 * 8, 0x2000 + 510 * 8, 0x3000, 0x4000 + 8};
  for (const std::uint64_t entry : entries) {
    Memory memory = long_mode_tables();
    memory.clear_bits(entry, kP);
    EXPECT_FALSE(walk(memory, 0xffffffff80001234ull, kLong)) << std::hex << entry;
  }
}

TEST(PageWalk, EntryOutsideMemory) {
  Memory memory = long_mode_tables();
  PagingState far = kLong;
  far.cr3 = 0x7fff'f000'0000ull;  // the PML4 itself is outside
  EXPECT_FALSE(walk(memory, 0xffffffff80001234ull, far));
  memory.set(0x3000, 0x2'0000'0000ull | kP);  // the PD points outside
  EXPECT_FALSE(walk(memory, 0xffffffff80001234ull, kLong));
}

TEST(PageWalk, LongModeWith2MiBPages) {
  Memory memory;
  memory.set(0x1000, 0x2000 | kP);
  memory.set(0x2000 + 1 * 8, 0x3000 | kP);                  // PDPT 1: va 0x40000000
  memory.set(0x3000 + 1 * 8, 0x0080'0000 | kP | kPs | kNx);  // PD 1: va 0x40200000
  EXPECT_EQ(walk(memory, 0x40312345, kLong), 0x0091'2345u);
  EXPECT_EQ(walk(memory, 0x40200000, kLong), 0x0080'0000u);
  EXPECT_EQ(walk(memory, 0x403fffff, kLong), 0x009f'ffffu);
}

TEST(PageWalk, LongModeWith1GiBPages) {
  Memory memory;
  memory.set(0x1000 + 511 * 8, 0x2000 | kP);
  memory.set(0x2000 + 3 * 8, 0x8000'0000ull | kP | kPs | (1 << 12));  // PDPT 3: va 0xc0000000
  memory.set(0x2000 + 510 * 8, 0x4'0000'0000ull | kP | kPs);          // the high half
  EXPECT_EQ(walk(memory, 0xffffff80c1234567ull, kLong), 0x8123'4567ull);
  EXPECT_EQ(walk(memory, 0xffffffff80001234ull, kLong), 0x4'0000'1234ull);
  EXPECT_EQ(walk(memory, 0xffffffffbfffffffull, kLong), 0x4'3fff'ffffull);
}

TEST(PageWalk, NonCanonicalAddressesFail) {
  Memory memory = long_mode_tables();
  for (const std::uint64_t va : {0x0000'8000'0000'0000ull, 0x8000'0000'0000'0000ull, 0xfff7'ffff'8000'1234ull,
                                 0x7fff'ffff'8000'1234ull})
    EXPECT_FALSE(walk(memory, va, kLong)) << std::hex << va;
  EXPECT_EQ(memory.reads, 0u);
}

TEST(PageWalk, FiveLevelPagingWithLa57) {
  Memory memory;
  PagingState five = kLong;
  five.cr4 |= kCr4La57;
  memory.set(0x1000 + 511 * 8, 0x5000 | kP);  // PML5 511
  memory.set(0x5000 + 511 * 8, 0x2000 | kP);  // PML4 511
  memory.set(0x2000 + 510 * 8, 0x4'0000'0000ull | kP | kPs);
  EXPECT_EQ(walk(memory, 0xffffffff80001234ull, five), 0x4'0000'1234ull);
  // Canonical for 57 bits but not for 48: only valid with LA57.
  EXPECT_FALSE(walk(memory, 0xff00'0000'0000'0000ull, kLong));
  EXPECT_FALSE(walk(memory, 0xfe00'0000'0000'0000ull, five));  // bit 56 clear, 63:57 set
}

}  // namespace
}  // namespace vmm::debug
