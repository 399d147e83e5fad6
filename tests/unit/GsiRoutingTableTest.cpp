#include "irq/GsiRoutingTable.h"

#include <gtest/gtest.h>
#include <linux/kvm.h>

#include <cstring>

#include "base/KvmAbi.h"

namespace vmm {
namespace {

TEST(GsiRoutingTable, StandardPcRoutesTimerToIoapicPin2) {
  const auto table = GsiRoutingTable::standard_pc();
  const auto routes = table.routes_for(0);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0]->target, (std::variant<IrqchipPin, MsiTarget>(IrqchipPin{Irqchip::PicMaster, 0})));
  EXPECT_EQ(routes[1]->target, (std::variant<IrqchipPin, MsiTarget>(IrqchipPin{Irqchip::Ioapic, 2})));
}

TEST(GsiRoutingTable, StandardPcIsaLinesGoToPicAndSameIoapicPin) {
  const auto table = GsiRoutingTable::standard_pc();
  struct Case {
    std::uint32_t gsi;
    Irqchip pic;
    std::uint32_t pic_pin;
  };
  const Case cases[] = {{1, Irqchip::PicMaster, 1},  {3, Irqchip::PicMaster, 3},  {4, Irqchip::PicMaster, 4},
                        {7, Irqchip::PicMaster, 7},  {8, Irqchip::PicSlave, 0},   {12, Irqchip::PicSlave, 4},
                        {15, Irqchip::PicSlave, 7}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.gsi);
    const auto routes = table.routes_for(c.gsi);
    ASSERT_EQ(routes.size(), 2u);
    EXPECT_EQ(std::get<IrqchipPin>(routes[0]->target), (IrqchipPin{c.pic, c.pic_pin}));
    EXPECT_EQ(std::get<IrqchipPin>(routes[1]->target), (IrqchipPin{Irqchip::Ioapic, c.gsi}));
  }
}

TEST(GsiRoutingTable, StandardPcLeavesCascadeUnroutedAndHighPinsIoapicOnly) {
  const auto table = GsiRoutingTable::standard_pc();
  EXPECT_TRUE(table.routes_for(2).empty());
  for (std::uint32_t gsi = 16; gsi < 24; ++gsi) {
    const auto routes = table.routes_for(gsi);
    ASSERT_EQ(routes.size(), 1u);
    EXPECT_EQ(std::get<IrqchipPin>(routes[0]->target), (IrqchipPin{Irqchip::Ioapic, gsi}));
  }
  EXPECT_TRUE(table.routes_for(24).empty());
  EXPECT_EQ(table.routes().size(), 15u * 2 + 8);
}

TEST(GsiRoutingTable, RejectsPinsOutOfRangeAndDuplicates) {
  GsiRoutingTable table;
  EXPECT_THROW(table.add({3, IrqchipPin{Irqchip::PicMaster, 8}}), std::invalid_argument);
  EXPECT_THROW(table.add({30, IrqchipPin{Irqchip::Ioapic, 24}}), std::invalid_argument);
  table.add({5, IrqchipPin{Irqchip::Ioapic, 5}});
  EXPECT_THROW(table.add({5, IrqchipPin{Irqchip::Ioapic, 5}}), std::invalid_argument);
  EXPECT_THROW(table.add({10, MsiTarget{0xfee00000, 0, 0x40}}), std::invalid_argument);  // MSI below GSI 24
  EXPECT_NO_THROW(table.add({24, MsiTarget{0xfee00000, 0, 0x40}}));
}

TEST(GsiRoutingTable, KvmEncodingHasCLayout) {
  GsiRoutingTable table;
  table.add({4, IrqchipPin{Irqchip::PicMaster, 4}});
  table.add({24, MsiTarget{0xfee01000, 0, 0x41}});
  const auto bytes = table.to_kvm();
  ASSERT_EQ(bytes.size(), 8 + 2 * sizeof(kvm_irq_routing_entry));
  std::uint32_t nr;
  std::memcpy(&nr, bytes.data(), 4);
  EXPECT_EQ(nr, 2u);
  kvm_irq_routing_entry first, second;
  std::memcpy(&first, bytes.data() + 8, sizeof first);
  std::memcpy(&second, bytes.data() + 8 + sizeof first, sizeof second);
  EXPECT_EQ(first.gsi, 4u);
  EXPECT_EQ(first.type, static_cast<std::uint32_t>(KVM_IRQ_ROUTING_IRQCHIP));
  EXPECT_EQ(first.u.irqchip.irqchip, static_cast<std::uint32_t>(KVM_IRQCHIP_PIC_MASTER));
  EXPECT_EQ(first.u.irqchip.pin, 4u);
  EXPECT_EQ(second.type, static_cast<std::uint32_t>(KVM_IRQ_ROUTING_MSI));
  EXPECT_EQ(second.u.msi.address_lo, 0xfee01000u);
  EXPECT_EQ(second.u.msi.data, 0x41u);
}

TEST(GsiRoutingTable, FormatListsEveryRouteSortedByGsi) {
  const auto text = GsiRoutingTable::standard_pc().format();
  EXPECT_EQ(text.find("gsi 0   -> pic-master pin 0\ngsi 0   -> ioapic pin 2\ngsi 1 "), 0u);
  EXPECT_NE(text.find("gsi 23  -> ioapic pin 23\n"), std::string::npos);
  EXPECT_EQ(text.find("gsi 2 "), std::string::npos);
}

}  // namespace
}  // namespace vmm
