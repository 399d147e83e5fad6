// The tables as an OS reads them (ACPI 6.5, chapter 5): found from the RSDP,
// every checksum right, the FADT pointing at our registers, \_S5 in the DSDT.
#include "vmm/boot/AcpiTables.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <tuple>

#include "vmm/Config.h"
#include "vmm/Platform.h"
#include "vmm/boot/TableBytes.h"

namespace vmm {
namespace {

using namespace table_bytes;

constexpr AcpiTablesInput kInput{.pm1a_event_port = 0x600,
                                 .pm1a_control_port = 0x604,
                                 .sci_irq = 9,
                                 .s5_sleep_type = 5,
                                 .reset_port = 0x64,
                                 .reset_value = 0xfe,
                                 .century_register = 0x32};

// A level line on ISA IRQ 5, an edge line on IRQ 7, as a config declares them.
const std::vector<InterruptLineSpec> kLines = {{.name = "nic", .gsi = 5, .trigger = Trigger::Level, .msi = {}},
                                               {.name = "kbd2", .gsi = 7, .trigger = Trigger::Edge, .msi = {}}};

AcpiTablesInput input_for(unsigned cpus) {
  const GsiRoutingTable routing = InterruptLines::routing_for(kLines, platform::device_gsis());
  AcpiTablesInput input = kInput;
  input.cpus = cpus;
  input.ioapic_id = static_cast<std::uint8_t>(cpus);
  input.ioapic_inputs = MpTable::ioapic_inputs(routing, kLines);
  return input;
}

class AcpiTablesTest : public ::testing::Test {
 protected:
  // The table at guest physical address `address`, checked like an OS does:
  // signature, length inside the image, bytes summing to zero.
  std::span<const std::uint8_t> table(std::uint64_t address, const std::string& signature) {
    const auto& bytes = tables_.bytes();
    EXPECT_GE(address, tables_.guest_address());
    const std::size_t at = address - tables_.guest_address();
    EXPECT_LE(at + AcpiTables::kHeaderBytes, bytes.size());
    const auto all = std::span(bytes);
    const std::uint32_t length = get_u32(all, at + 4);
    EXPECT_LE(at + length, bytes.size());
    const auto t = all.subspan(at, length);
    EXPECT_EQ(std::string(t.begin(), t.begin() + 4), signature);
    EXPECT_EQ(checksum_for(t), 0) << signature;
    return t;
  }

  std::span<const std::uint8_t> fadt() {
    const auto rsdp = std::span(tables_.bytes()).first(AcpiTables::kRsdpBytes);
    return table(get_u64(table(get_u64(rsdp, 24), "XSDT"), AcpiTables::kHeaderBytes), "FACP");
  }

  AcpiTables tables_ = AcpiTables::build(input_for(3));
};

TEST_F(AcpiTablesTest, RsdpIsWhereOsesScanForItWithBothChecksums) {
  EXPECT_EQ(AcpiTables::kRsdpAddress % 16, 0u);
  EXPECT_GE(AcpiTables::kRsdpAddress, 0xe0000u);
  EXPECT_LT(AcpiTables::kRsdpAddress, 0x100000u);
  EXPECT_LE(tables_.guest_address() + tables_.bytes().size(), AcpiTables::kReservedEnd);
  const auto rsdp = std::span(tables_.bytes()).first(AcpiTables::kRsdpBytes);
  EXPECT_EQ(std::string(rsdp.begin(), rsdp.begin() + 8), "RSD PTR ");
  EXPECT_EQ(checksum_for(rsdp.first(20)), 0);
  EXPECT_EQ(checksum_for(rsdp), 0);
  EXPECT_EQ(rsdp[15], 2);  // revision
  EXPECT_EQ(get_u32(rsdp, 20), AcpiTables::kRsdpBytes);
}

TEST_F(AcpiTablesTest, RsdtAndXsdtListTheFadtAndTheMadt) {
  const auto rsdp = std::span(tables_.bytes()).first(AcpiTables::kRsdpBytes);
  const auto rsdt = table(get_u32(rsdp, 16), "RSDT");
  const auto xsdt = table(get_u64(rsdp, 24), "XSDT");
  ASSERT_EQ(rsdt.size(), AcpiTables::kHeaderBytes + 2 * 4);
  ASSERT_EQ(xsdt.size(), AcpiTables::kHeaderBytes + 2 * 8);
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_EQ(get_u32(rsdt, AcpiTables::kHeaderBytes + 4 * i), get_u64(xsdt, AcpiTables::kHeaderBytes + 8 * i));
  table(get_u64(xsdt, AcpiTables::kHeaderBytes), "FACP");
  table(get_u64(xsdt, AcpiTables::kHeaderBytes + 8), "APIC");
}

// The MADT says what the MP table says (MpTableTest checks that against the
// routing): every CPU, the I/O APIC, IRQ 0 on GSI 2, and the lines' flags.
TEST_F(AcpiTablesTest, MadtDescribesTheCpusIoapicAndIsaRouting) {
  const auto rsdp = std::span(tables_.bytes()).first(AcpiTables::kRsdpBytes);
  const auto madt = table(get_u64(table(get_u64(rsdp, 24), "XSDT"), AcpiTables::kHeaderBytes + 8), "APIC");
  EXPECT_EQ(get_u32(madt, 36), MpTable::kLocalApicAddress);
  EXPECT_EQ(get_u32(madt, 40), AcpiTables::kMadtPcatCompat);
  std::vector<std::pair<int, int>> cpus;              // (uid, apic id)
  std::vector<std::tuple<int, std::uint32_t, int>> overrides;  // (irq, gsi, flags)
  int ioapics = 0, nmis = 0;
  for (std::size_t at = 44; at < madt.size();) {
    const std::uint8_t type = madt[at], length = madt[at + 1];
    ASSERT_GE(length, 2) << "at " << at;
    ASSERT_LE(at + length, madt.size());
    switch (static_cast<AcpiTables::MadtEntry>(type)) {
      case AcpiTables::MadtEntry::LocalApic:
        ASSERT_EQ(length, 8);
        EXPECT_EQ(get_u32(madt, at + 4), AcpiTables::kLocalApicEnabled);
        cpus.emplace_back(madt[at + 2], madt[at + 3]);
        break;
      case AcpiTables::MadtEntry::IoApic:
        ASSERT_EQ(length, 12);
        EXPECT_EQ(madt[at + 2], 3);  // the id after the CPUs', as in the MP table
        EXPECT_EQ(get_u32(madt, at + 4), MpTable::kIoapicAddress);
        EXPECT_EQ(get_u32(madt, at + 8), 0u);
        ++ioapics;
        break;
      case AcpiTables::MadtEntry::SourceOverride:
        ASSERT_EQ(length, 10);
        EXPECT_EQ(madt[at + 2], 0);  // ISA
        overrides.emplace_back(madt[at + 3], get_u32(madt, at + 4), get_u16(madt, at + 8));
        break;
      case AcpiTables::MadtEntry::LocalApicNmi:
        ASSERT_EQ(length, 6);
        EXPECT_EQ(madt[at + 2], 0xff);
        EXPECT_EQ(madt[at + 5], 1);  // LINT1
        ++nmis;
        break;
      default: ADD_FAILURE() << "unexpected MADT structure type " << int(type);
    }
    at += length;
  }
  EXPECT_EQ(cpus, (std::vector<std::pair<int, int>>{{0, 0}, {1, 1}, {2, 2}}));
  EXPECT_EQ(ioapics, 1);
  EXPECT_EQ(nmis, 1);
  const int level_high = MpTable::kPolarityActiveHigh | MpTable::kTriggerLevel;
  EXPECT_EQ(overrides, (std::vector<std::tuple<int, std::uint32_t, int>>{{0, 2, 0}, {5, 5, level_high}, {9, 9, level_high}}));
}

TEST(AcpiTables, EveryVcpuCountVmmAllowsFits) {
  EXPECT_NO_THROW(AcpiTables::build(input_for(VmConfig::kMaxVcpus)));
}

TEST_F(AcpiTablesTest, FadtDescribesFullFixedHardwareAtOurPorts) {
  const auto f = fadt();
  ASSERT_EQ(f.size(), AcpiTables::kFadtBytes);
  EXPECT_EQ(f[8], 6);  // revision
  EXPECT_EQ(get_u16(f, AcpiTables::kFadtSciInt), 9);
  EXPECT_EQ(get_u32(f, AcpiTables::kFadtSmiCmd), 0u);
  EXPECT_EQ(get_u32(f, AcpiTables::kFadtPm1aEvent), 0x600u);
  EXPECT_EQ(get_u32(f, AcpiTables::kFadtPm1aControl), 0x604u);
  EXPECT_EQ(f[AcpiTables::kFadtPm1EventLength], 4);
  EXPECT_EQ(f[AcpiTables::kFadtPm1ControlLength], 2);
  EXPECT_EQ(get_u32(f, AcpiTables::kFadtPmTimer), 0u);
  EXPECT_EQ(f[AcpiTables::kFadtCentury], 0x32);
  const std::uint16_t boot_arch = get_u16(f, AcpiTables::kFadtBootArch);
  EXPECT_TRUE(boot_arch & AcpiTables::kBootArchLegacyDevices);
  EXPECT_TRUE(boot_arch & AcpiTables::kBootArch8042);  // else Linux gives up on the i8042
  const std::uint32_t flags = get_u32(f, AcpiTables::kFadtFlags);
  EXPECT_FALSE(flags & AcpiTables::kFlagHardwareReduced);  // which would cost Linux its PIC and PIT
  EXPECT_TRUE(flags & AcpiTables::kFlagResetRegister);
  // RESET_REG: system I/O, 8 bits, byte access, the i8042's command port.
  EXPECT_EQ(f[AcpiTables::kFadtResetReg], 1);
  EXPECT_EQ(f[AcpiTables::kFadtResetReg + 1], 8);
  EXPECT_EQ(get_u64(f, AcpiTables::kFadtResetReg + 4), 0x64u);
  EXPECT_EQ(f[AcpiTables::kFadtResetValue], 0xfe);
  const auto facs_at = get_u32(f, 36) - tables_.guest_address();
  EXPECT_EQ(get_u32(f, 36) % 64, 0u);
  EXPECT_EQ(std::string(tables_.bytes().begin() + facs_at, tables_.bytes().begin() + facs_at + 4), "FACS");
  EXPECT_EQ(get_u32(tables_.bytes(), facs_at + 4), AcpiTables::kFacsBytes);
  EXPECT_EQ(get_u32(f, 40), get_u64(f, AcpiTables::kFadtXDsdt));
}

TEST_F(AcpiTablesTest, DsdtNamesS5WithOurSleepType) {
  const auto dsdt = table(get_u64(fadt(), AcpiTables::kFadtXDsdt), "DSDT");
  const std::vector<std::uint8_t> aml(dsdt.begin() + AcpiTables::kHeaderBytes, dsdt.end());
  // NameOp "_S5_" PackageOp PkgLength=8 NumElements=4 BytePrefix 5 BytePrefix 5 Zero Zero
  const std::vector<std::uint8_t> expected = {0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
                                              0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
  EXPECT_EQ(aml, expected);
}

}  // namespace
}  // namespace vmm
