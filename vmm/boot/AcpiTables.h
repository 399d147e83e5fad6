#pragma once
// The ACPI tables vmm gives a guest (ACPI 6.5, chapter 5): just enough for an
// OS to power the machine off and to reset it, on the full (not hardware-
// reduced) fixed hardware, so that Linux keeps its 8259, PIT and i8042 paths.
// Built from the platform's ports, pure: bytes for guest memory.
//
// Layout, at kBase in the BIOS area (reserved in e820, and inside the range
// Linux and other OSes scan for the RSDP, 0xE0000-0xFFFFF, for guests that do
// not get boot_params.acpi_rsdp_addr):
//   +0x000 RSDP, revision 2, 36 bytes: the RSDT and XSDT
//   +0x040 FACS, 64 bytes (64-byte aligned, as 5.2.10 requires)
//   +0x080 RSDT, +0x0C0 XSDT: the FADT only
//   +0x100 FADT, revision 6, 276 bytes: SCI on IRQ 9, no SMI command port
//          (always in ACPI mode), PM1a event and control blocks, no PM timer,
//          no GPE block, the reset register (0xFE to the i8042's 0x64), the
//          CMOS century register, boot flags: legacy devices, an 8042, no VGA
//   +0x280 DSDT: one object, \_S5 = Package { SLP_TYP, SLP_TYP, 0, 0 }
//   +0x300 MADT: the same CPUs, I/O APIC and ISA routing as the MP table, from
//          the same routing (MpTable::ioapic_inputs): one local APIC per vCPU,
//          the I/O APIC with GSI base 0, an interrupt source override for
//          every ISA IRQ that is not on its own pin with bus flags (IRQ 0 on
//          GSI 2, scripted level lines) and for the SCI (level, active high:
//          an idle irqfd line is low), LINT1 as NMI on every CPU. Linux,
//          finding ACPI, ignores the MP table unless there is no MADT.
//
// Not written: HPET, MCFG (no PCI), any device in the DSDT.

#include <cstdint>
#include <vector>

#include "vmm/boot/MpTable.h"

namespace vmm {

struct AcpiTablesInput {
  unsigned cpus = 1;
  std::uint8_t ioapic_id = 0;
  std::vector<MpTable::IoapicInput> ioapic_inputs{};
  std::uint16_t pm1a_event_port = 0;    // PM1_STS, PM1_EN: 4 bytes
  std::uint16_t pm1a_control_port = 0;  // PM1_CNT: 2 bytes
  std::uint8_t sci_irq = 0;             // ISA IRQ of the SCI
  std::uint8_t s5_sleep_type = 0;       // SLP_TYP of \_S5
  std::uint16_t reset_port = 0;         // RESET_REG, a byte in I/O space
  std::uint8_t reset_value = 0;
  std::uint8_t century_register = 0;    // CMOS RAM index; 0: none
};

class AcpiTables {
 public:
  static constexpr std::uint64_t kBase = 0xf2000;
  static constexpr std::uint64_t kReservedEnd = 0xf3000;  // what vmm keeps clear of kernels and modules
  static constexpr std::uint64_t kRsdpAddress = kBase;
  static constexpr std::uint64_t kFacsOffset = 0x40, kRsdtOffset = 0x80, kXsdtOffset = 0xc0, kFadtOffset = 0x100,
                                 kDsdtOffset = 0x280, kMadtOffset = 0x300;
  static constexpr std::size_t kRsdpBytes = 36, kHeaderBytes = 36, kFacsBytes = 64, kFadtBytes = 276;
  // FADT fields (table 5.9) a reader checks.
  static constexpr std::size_t kFadtSciInt = 46, kFadtSmiCmd = 48, kFadtPm1aEvent = 56, kFadtPm1aControl = 64,
                               kFadtPmTimer = 76, kFadtPm1EventLength = 88, kFadtPm1ControlLength = 89,
                               kFadtCentury = 108, kFadtBootArch = 109, kFadtFlags = 112, kFadtResetReg = 116,
                               kFadtResetValue = 128, kFadtXDsdt = 140;
  // MADT structure types (5.2.12) and flags.
  enum class MadtEntry : std::uint8_t { LocalApic = 0, IoApic = 1, SourceOverride = 2, LocalApicNmi = 4 };
  static constexpr std::uint32_t kMadtPcatCompat = 1u << 0, kLocalApicEnabled = 1u << 0;
  static constexpr std::uint16_t kSciFlags = MpTable::kPolarityActiveHigh | MpTable::kTriggerLevel;
  static constexpr std::uint16_t kBootArchLegacyDevices = 1u << 0, kBootArch8042 = 1u << 1,
                                 kBootArchNoVga = 1u << 2;
  static constexpr std::uint32_t kFlagWbinvd = 1u << 0, kFlagProcC1 = 1u << 2, kFlagNoPowerButton = 1u << 4,
                                 kFlagNoSleepButton = 1u << 5, kFlagResetRegister = 1u << 10,
                                 kFlagHardwareReduced = 1u << 20;

  static AcpiTables build(const AcpiTablesInput& input);

  std::uint64_t guest_address() const { return kBase; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace vmm
