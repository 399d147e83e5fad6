#include "irq/InterruptLines.h"

#include <gtest/gtest.h>

namespace vmm {
namespace {

const std::vector<ReservedGsi> kDevices = {{0, "8254 PIT"}, {4, "COM1 UART"}};

std::string rejection(const std::vector<InterruptLineSpec>& lines) {
  try {
    InterruptLines::validate(lines, kDevices);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "(accepted)";
}

TEST(InterruptLines, AcceptsIsaIoapicAndMsiLines) {
  const std::vector<InterruptLineSpec> lines = {
      {"isa5", 5, Trigger::Edge, std::nullopt},
      {"pin16", 16, Trigger::Level, std::nullopt},
      {"msi", 24, Trigger::Edge, MsiDestination{0, 64}},
  };
  const auto table = InterruptLines::routing_for(lines, kDevices);
  const auto msi = table.routes_for(24);
  ASSERT_EQ(msi.size(), 1u);
  EXPECT_EQ(std::get<MsiTarget>(msi[0]->target), (MsiTarget{0xfee00000, 0, 64}));
  EXPECT_EQ(table.routes_for(16).size(), 1u);  // the PC route, not a second one
  EXPECT_EQ(table.routes_for(5).size(), 2u);
}

TEST(InterruptLines, MsiMessageEncodesDestinationAndVector) {
  EXPECT_EQ(InterruptLines::msi_message({3, 0x41}), (MsiTarget{0xfee03000, 0, 0x41}));
}

TEST(InterruptLines, RejectsWithTheLineIndexAndTheReason) {
  struct Case {
    std::vector<InterruptLineSpec> lines;
    const char* expected;
  };
  const Case cases[] = {
      {{{"a", 5, Trigger::Edge, {}}, {"a", 6, Trigger::Edge, {}}}, "1: the name \"a\" is used twice"},
      {{{"a", 5, Trigger::Edge, {}}, {"b", 5, Trigger::Edge, {}}}, "1: GSI 5 is used by two lines"},
      {{{"", 5, Trigger::Edge, {}}}, "0: a line needs a name"},
      {{{"t", 0, Trigger::Edge, {}}}, "0: GSI 0 belongs to the 8254 PIT"},
      {{{"u", 4, Trigger::Edge, {}}}, "0: GSI 4 belongs to the COM1 UART"},
      {{{"c", 2, Trigger::Edge, {}}}, "0: GSI 2 is the PIC cascade"},
      {{{"m", 30, Trigger::Edge, {}}}, "0: GSI 30 is past the IOAPIC's 24 pins"},
      {{{"m", 9, Trigger::Edge, MsiDestination{0, 64}}}, "0: MSI lines use GSI 24 and up"},
      {{{"m", 24, Trigger::Edge, MsiDestination{0, 31}}}, "0: MSI vector 31 is outside 32-255"},
      {{{"m", 24, Trigger::Edge, MsiDestination{0, 256}}}, "0: MSI vector 256 is outside 32-255"},
      {{{"m", 24, Trigger::Level, MsiDestination{0, 64}}}, "0: MSI is edge-triggered"},
      {{{"m", 24, Trigger::Edge, MsiDestination{256, 64}}}, "0: destination APIC id 256 is above 255"},
      {{{"x", 5000, Trigger::Edge, {}}}, "0: GSI 5000 is above 1023"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expected);
    EXPECT_EQ(rejection(c.lines).rfind(c.expected, 0), 0u) << rejection(c.lines);
  }
}

}  // namespace
}  // namespace vmm
