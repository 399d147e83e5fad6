// The emulation fix-up table: which failed instructions vmm carries out
// itself, how, and that everything else stays a failure.

#include <gtest/gtest.h>

#include <vector>

#include "vmm/kvm/EmulationFixups.h"

namespace vmm {
namespace {

struct Case {
  const char* what;
  std::vector<std::uint8_t> bytes;
  unsigned cpl;
  std::optional<EmulationFixup::Kind> kind;
  unsigned length = 0;
  std::optional<std::uint8_t> exception;
  std::optional<std::uint8_t> software_interrupt = std::nullopt;
};

TEST(EmulationFixup, TableByInstructionAndPrivilege) {
  const Case cases[] = {
      {"int3 in ring 0: past it, then #BP", {0xCC}, 0, EmulationFixup::Kind::Int3, 1, 3},
      {"int3 with the bytes after it", {0xCC, 0x90, 0x90}, 0, EmulationFixup::Kind::Int3, 1, 3},
      {"fwait in ring 0: past it", {0x9B}, 0, EmulationFixup::Kind::Fwait, 1, std::nullopt},
      {"int3 in ring 3: not ours", {0xCC}, 3, std::nullopt, 0, std::nullopt},
      {"fwait in ring 3: a task's x87 exception may be pending", {0x9B}, 3, std::nullopt, 0, std::nullopt},
      {"int 0x80 in ring 0: past it, then vector 0x80 through its gate",
       {0xCD, 0x80, 0x90},
       0,
       EmulationFixup::Kind::IntN,
       2,
       std::nullopt,
       0x80},
      {"int imm8 3 (CD 03) is int n, not int3: no #BP as an exception",
       {0xCD, 0x03},
       0,
       EmulationFixup::Kind::IntN,
       2,
       std::nullopt,
       3},
      {"int 0x0e pushes no error code: a plain vector, not #PF",
       {0xCD, 0x0E},
       0,
       EmulationFixup::Kind::IntN,
       2,
       std::nullopt,
       0x0e},
      {"int n in ring 3: not ours", {0xCD, 0x80}, 3, std::nullopt, 0, std::nullopt},
      {"int n cut short", {0xCD}, 0, std::nullopt, 0, std::nullopt},
      {"ud2", {0x0F, 0x0B}, 0, std::nullopt, 0, std::nullopt},
      {"xrstor", {0x0F, 0xAE, 0x2F}, 0, std::nullopt, 0, std::nullopt},
      {"no bytes", {}, 0, std::nullopt, 0, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const auto fixup = EmulationFixup::find(c.bytes, c.cpl);
    ASSERT_EQ(fixup.has_value(), c.kind.has_value());
    if (!fixup) continue;
    EXPECT_EQ(fixup->kind, *c.kind);
    EXPECT_EQ(fixup->length, c.length);
    EXPECT_EQ(fixup->exception, c.exception);
    EXPECT_EQ(fixup->software_interrupt, c.software_interrupt);
    EXPECT_EQ(EmulationFixup::name(fixup->kind), fixup->instruction);
  }
}

TEST(EmulationFixup, MxcsrAccessesDecodeTheirMemoryOperandIn64BitCode) {
  using Kind = EmulationFixup::Kind;
  struct Operand {
    const char* what;
    std::vector<std::uint8_t> bytes;
    Kind kind;
    unsigned length;
    std::optional<unsigned> base, index;
    unsigned scale;
    std::int64_t displacement;
    bool rip_relative;
  };
  const Operand cases[] = {
      // Linux's kernel_fpu_begin: ldmxcsr 0x4(%rsp), the bytes KVM gave here.
      {"ldmxcsr 0x4(%rsp)", {0x0f, 0xae, 0x54, 0x24, 0x04, 0x83, 0xe3}, Kind::Ldmxcsr, 5, 4, std::nullopt, 1, 4, false},
      {"stmxcsr (%rax)", {0x0f, 0xae, 0x18}, Kind::Stmxcsr, 3, 0, std::nullopt, 1, 0, false},
      {"ldmxcsr -0x10(%rbp)", {0x0f, 0xae, 0x55, 0xf0}, Kind::Ldmxcsr, 4, 5, std::nullopt, 1, -16, false},
      {"ldmxcsr 0x12345678(%rdi)",
       {0x0f, 0xae, 0x97, 0x78, 0x56, 0x34, 0x12},
       Kind::Ldmxcsr,
       7,
       7,
       std::nullopt,
       1,
       0x12345678,
       false},
      {"ldmxcsr 0x8(%rip)",
       {0x0f, 0xae, 0x15, 0x08, 0, 0, 0},
       Kind::Ldmxcsr,
       7,
       std::nullopt,
       std::nullopt,
       1,
       8,
       true},
      {"stmxcsr (%r12,%r9,8) with REX.XB", {0x4b, 0x0f, 0xae, 0x1c, 0xcc}, Kind::Stmxcsr, 5, 12, 9, 8, 0, false},
      {"ldmxcsr 0x40(%r13) with REX.B",
       {0x41, 0x0f, 0xae, 0x55, 0x40},
       Kind::Ldmxcsr,
       5,
       13,
       std::nullopt,
       1,
       0x40,
       false},
      {"ldmxcsr 0x1000(,%rcx,4): no base",
       {0x0f, 0xae, 0x14, 0x8d, 0, 0x10, 0, 0},
       Kind::Ldmxcsr,
       8,
       std::nullopt,
       1,
       4,
       0x1000,
       false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto fixup = EmulationFixup::find(c.bytes, 0, true);
    ASSERT_TRUE(fixup.has_value());
    EXPECT_EQ(fixup->kind, c.kind);
    EXPECT_EQ(fixup->length, c.length);
    EXPECT_EQ(fixup->exception, std::nullopt);
    ASSERT_TRUE(fixup->operand.has_value());
    EXPECT_EQ(fixup->operand->base, c.base);
    EXPECT_EQ(fixup->operand->index, c.index);
    EXPECT_EQ(fixup->operand->scale, c.scale);
    EXPECT_EQ(fixup->operand->displacement, c.displacement);
    EXPECT_EQ(fixup->operand->rip_relative, c.rip_relative);
    EXPECT_EQ(EmulationFixup::name(fixup->kind), fixup->instruction);
  }
  const Case refused[] = {
      {"ldmxcsr outside 64-bit code", {0x0f, 0xae, 0x54, 0x24, 0x04}, 0, std::nullopt, 0, std::nullopt},
      {"ldmxcsr in ring 3", {0x0f, 0xae, 0x10}, 3, std::nullopt, 0, std::nullopt},
      {"a register form (lfence) is another instruction", {0x0f, 0xae, 0xe8}, 0, std::nullopt, 0, std::nullopt},
      {"fxsave (/0) is the emulator's", {0x0f, 0xae, 0x00}, 0, std::nullopt, 0, std::nullopt},
      {"xsave (/4)", {0x0f, 0xae, 0x20}, 0, std::nullopt, 0, std::nullopt},
      {"a segment override", {0x65, 0x0f, 0xae, 0x10}, 0, std::nullopt, 0, std::nullopt},
      {"truncated displacement", {0x0f, 0xae, 0x94, 0x24, 0x00}, 0, std::nullopt, 0, std::nullopt},
      {"truncated SIB", {0x0f, 0xae, 0x14}, 0, std::nullopt, 0, std::nullopt},
  };
  for (const Case& c : refused) {
    SCOPED_TRACE(c.what);
    EXPECT_FALSE(EmulationFixup::find(c.bytes, c.cpl, std::string(c.what).find("outside") == std::string::npos));
  }
}

}  // namespace
}  // namespace vmm

namespace vmm {
namespace {

// Linux's return to user space: swapgs, then sysretq (or sysretl).
TEST(EmulationFixup, SysretAndSwapgsIn64BitCodeOnly) {
  struct Row {
    const char* what;
    std::vector<std::uint8_t> bytes;
    bool code64;
    std::optional<EmulationFixup::Kind> kind;
    unsigned length;
    bool operand64;
  };
  using Kind = EmulationFixup::Kind;
  const Row rows[] = {
      {"sysretq (48 0F 07)", {0x48, 0x0f, 0x07}, true, Kind::Sysret, 3, true},
      {"sysretl (0F 07)", {0x0f, 0x07}, true, Kind::Sysret, 2, false},
      {"sysret with REX.B only: 32-bit", {0x41, 0x0f, 0x07}, true, Kind::Sysret, 3, false},
      {"swapgs (0F 01 F8)", {0x0f, 0x01, 0xf8}, true, Kind::Swapgs, 3, false},
      {"sysret outside 64-bit code: #UD, not ours", {0x0f, 0x07}, false, std::nullopt, 0, false},
      {"swapgs outside 64-bit code: #UD, not ours", {0x0f, 0x01, 0xf8}, false, std::nullopt, 0, false},
      {"0F 01 F9 is rdtscp", {0x0f, 0x01, 0xf9}, true, std::nullopt, 0, false},
      {"0F 05 is syscall, which the host does", {0x0f, 0x05}, true, std::nullopt, 0, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    const auto fixup = EmulationFixup::find(row.bytes, 0, row.code64);
    ASSERT_EQ(fixup.has_value(), row.kind.has_value());
    if (!fixup) continue;
    EXPECT_EQ(fixup->kind, *row.kind);
    EXPECT_EQ(fixup->length, row.length);
    EXPECT_EQ(fixup->operand64, row.operand64);
    EXPECT_EQ(fixup->exception, std::nullopt);
    EXPECT_EQ(EmulationFixup::name(fixup->kind), fixup->instruction);
  }
  EXPECT_FALSE(EmulationFixup::find(std::vector<std::uint8_t>{0x48, 0x0f, 0x07}, 3, true))
      << "sysret in ring 3 is the CPU's #GP";
  EXPECT_EQ(EmulationFixup::name(Kind::Syscall), "syscall");
}

}  // namespace
}  // namespace vmm
