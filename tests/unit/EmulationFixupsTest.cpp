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
};

TEST(EmulationFixup, TableByInstructionAndPrivilege) {
  const Case cases[] = {
      {"int3 in ring 0: past it, then #BP", {0xCC}, 0, EmulationFixup::Kind::Int3, 1, 3},
      {"int3 with the bytes after it", {0xCC, 0x90, 0x90}, 0, EmulationFixup::Kind::Int3, 1, 3},
      {"fwait in ring 0: past it", {0x9B}, 0, EmulationFixup::Kind::Fwait, 1, std::nullopt},
      {"int3 in ring 3: not ours", {0xCC}, 3, std::nullopt, 0, std::nullopt},
      {"fwait in ring 3: a task's x87 exception may be pending", {0x9B}, 3, std::nullopt, 0, std::nullopt},
      {"int imm8 3 (CD 03) is another instruction", {0xCD, 0x03}, 0, std::nullopt, 0, std::nullopt},
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
    EXPECT_EQ(EmulationFixup::name(fixup->kind), fixup->instruction);
  }
}

}  // namespace
}  // namespace vmm
