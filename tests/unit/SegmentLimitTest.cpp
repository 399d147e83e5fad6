// LSL as the Intel SDM defines it (vol. 2A, "LSL"), and its decoding in the
// emulation fix-up table: the instruction Linux runs in ring 0 to read its
// CPU number, which this project's hosts cannot emulate.

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "vmm/kvm/EmulationFixups.h"
#include "vmm/kvm/SegmentLimit.h"

namespace vmm {
namespace {

// A descriptor's low 8 bytes from its fields (SDM vol. 3A, 3.4.5).
constexpr std::uint64_t descriptor(std::uint32_t limit, unsigned type, bool s, unsigned dpl, bool g,
                                   bool present = true) {
  return (limit & 0xffffull) | (std::uint64_t{type} << 40) | (std::uint64_t{s} << 44) | (std::uint64_t{dpl} << 45) |
         (std::uint64_t{present} << 47) | (std::uint64_t{(limit >> 16) & 0xf} << 48) | (std::uint64_t{g} << 55);
}

struct Case {
  const char* what;
  std::uint16_t selector;
  std::uint64_t descriptor;
  unsigned cpl;
  bool ia32e;
  std::optional<std::uint32_t> limit;
};

TEST(SegmentLimit, LslLoadsTheLimitOrClearsZf) {
  const std::uint64_t kernel_data = 0x00CF92000000FFFF, user_data = 0x00CFF2000000FFFF;
  // Linux's per-CPU segment: a DPL 3 data segment whose byte limit is (node << 12) | cpu.
  const std::uint64_t linux_cpunode = descriptor((1u << 12) | 5, 0x5, true, 3, false);
  const Case cases[] = {
      {"kernel data, 4-KiB granularity: 4 GiB - 1", 0x10, kernel_data, 0, true, 0xffffffff},
      {"user data from ring 0 with RPL 3", 0x18 | 3, user_data, 0, true, 0xffffffff},
      {"Linux's CPU and node number, byte granular", 0x78 | 3, linux_cpunode, 0, true, (1u << 12) | 5},
      {"the null selector", 0, kernel_data, 0, true, std::nullopt},
      {"the null selector with an RPL", 3, kernel_data, 0, true, std::nullopt},
      {"kernel data from ring 3: DPL below CPL", 0x10 | 3, kernel_data, 3, true, std::nullopt},
      {"kernel data with RPL 3 from ring 0: DPL below RPL", 0x10 | 3, kernel_data, 0, true, std::nullopt},
      {"conforming code: no privilege check", 0x08 | 3, descriptor(0xfffff, 0xe, true, 0, true), 3, true,
       0xffffffff},
      {"non-conforming code below CPL", 0x08 | 3, descriptor(0xfffff, 0xa, true, 0, true), 3, true, std::nullopt},
      {"not present: LSL does not check P", 0x10, descriptor(0x1234, 0x2, true, 0, false, false), 0, true, 0x1234},
      {"64-bit TSS, available", 0x28, descriptor(0x2067, 0x9, false, 0, false), 0, true, 0x2067},
      {"64-bit TSS, busy", 0x28, descriptor(0x2067, 0xb, false, 0, false), 0, true, 0x2067},
      {"LDT", 0x30, descriptor(0xff, 0x2, false, 0, false), 0, true, 0xff},
      {"16-bit TSS in IA-32e mode: not a type LSL takes there", 0x28, descriptor(0x67, 0x1, false, 0, false), 0,
       true, std::nullopt},
      {"16-bit TSS in protected mode", 0x28, descriptor(0x67, 0x1, false, 0, false), 0, false, 0x67},
      {"call gate: no limit", 0x28, descriptor(0, 0xc, false, 0, false), 0, true, std::nullopt},
      {"the upper half of a 64-bit TSS descriptor (type 0)", 0x30, 0x00000000ffffffff, 0, true, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(x86::lsl_limit(c.selector, c.descriptor, c.cpl, c.ia32e), c.limit);
  }
}

TEST(SegmentLimit, TheDescriptorMustLieInItsTable) {
  EXPECT_TRUE(x86::descriptor_in_table(0x28, 0x2f));
  EXPECT_FALSE(x86::descriptor_in_table(0x30, 0x2f));
  EXPECT_FALSE(x86::descriptor_in_table(0x28, 0x2e));
  EXPECT_TRUE(x86::selects_local_table(0x0c));
  EXPECT_EQ(x86::descriptor_offset(0x1b), 0x18u);
}

TEST(SegmentLimit, TheDestinationKeepsItsUpperBitsOnlyWithA16BitOperand) {
  EXPECT_EQ(x86::lsl_destination(0xdeadbeefcafef00d, 0x12345678, 8), 0x12345678u);
  EXPECT_EQ(x86::lsl_destination(0xdeadbeefcafef00d, 0x12345678, 4), 0x12345678u);
  EXPECT_EQ(x86::lsl_destination(0xdeadbeefcafef00d, 0x12345678, 2), 0xdeadbeefcafe5678u);
}

struct Decoded {
  const char* what;
  std::vector<std::uint8_t> bytes;
  bool code64;
  bool found;
  unsigned length = 0, destination = 0, source = 0, operand_bytes = 0;
};

TEST(SegmentLimit, LslIsDecodedWithItsRegistersAndOperandSize) {
  const Decoded cases[] = {
      {"Linux's lsl %eax, %rax (48 0f 03 c0)", {0x48, 0x0f, 0x03, 0xc0, 0x90}, true, true, 4, 0, 0, 8},
      {"lsl %ecx, %edx", {0x0f, 0x03, 0xd1}, true, true, 3, 2, 1, 4},
      {"lsl %r9w, %r10w: 66 and REX.R, REX.B", {0x66, 0x45, 0x0f, 0x03, 0xd1}, true, true, 5, 10, 9, 2},
      {"REX.W wins over 66", {0x66, 0x48, 0x0f, 0x03, 0xc0}, true, true, 5, 0, 0, 8},
      {"a memory source: not ours", {0x48, 0x0f, 0x03, 0x00}, true, false},
      {"cut short", {0x48, 0x0f, 0x03}, true, false},
      {"outside 64-bit code", {0x0f, 0x03, 0xc0}, false, false},
      {"lar (0F 02) is another instruction", {0x0f, 0x02, 0xc0}, true, false},
  };
  for (const Decoded& c : cases) {
    SCOPED_TRACE(c.what);
    const auto fixup = EmulationFixup::find(c.bytes, 0, c.code64);
    ASSERT_EQ(fixup.has_value(), c.found);
    if (!fixup) continue;
    EXPECT_EQ(fixup->kind, EmulationFixup::Kind::Lsl);
    EXPECT_EQ(fixup->length, c.length);
    EXPECT_EQ(fixup->destination_register, c.destination);
    EXPECT_EQ(fixup->source_register, c.source);
    EXPECT_EQ(fixup->operand_bytes, c.operand_bytes);
    EXPECT_EQ(EmulationFixup::name(fixup->kind), "lsl");
  }
  EXPECT_FALSE(EmulationFixup::find(std::vector<std::uint8_t>{0x48, 0x0f, 0x03, 0xc0}, 3, true)) << "ring 3";
}

}  // namespace
}  // namespace vmm
