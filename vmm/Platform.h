#pragma once
// The PC platform vmm presents: where its devices sit and which lines they use.
// The ports the guest and vmm agree on come from abi/.
// One place, so the machine, the config checks and future tables for the guest
// (MP table, ACPI MADT, e820) agree.

#include <cstdint>
#include <vector>

#include "abi/debug_exit.h"
#include "abi/lines.h"
#include "irq/InterruptLines.h"

namespace vmm::platform {

constexpr std::uint64_t kPitPort = 0x40;
constexpr std::uint64_t kSystemControlPort = 0x61;
constexpr std::uint64_t kCom1Port = 0x3f8;
constexpr std::uint64_t kDebugExitPort = DEBUG_EXIT_PORT;
constexpr std::uint64_t kInterruptAckPort = IRQ_ACK_PORT;  // scripted lines' acknowledge register
constexpr std::uint64_t kWakeMarkPort = WAKE_MARK_PORT;  // a woken guest task names the line that woke it
constexpr std::uint64_t kPostCodePort = 0x80;
constexpr std::uint64_t kPciConfigPorts = 0xcf8;  // 0xCF8-0xCFF: PCI configuration mechanism #1; no PCI here
constexpr std::uint64_t kPciConfigPortCount = 8;
// ACPI PM1a event block (4 ports) and control block (2 ports), where QEMU's
// PIIX4 puts them.
constexpr std::uint64_t kAcpiPmPort = 0x600;
// Below the IOAPIC (0xFEC00000), clear of the LAPIC, HPET and any PCI window.
constexpr std::uint64_t kScratchMmio = 0xFEB00000;

constexpr std::uint32_t kPitGsi = 0;
constexpr std::uint32_t kI8042KeyboardGsi = 1;
constexpr std::uint32_t kCom1Gsi = 4;
// The FADT's SCI, as on PCs. Not reserved: vmm never raises it (no PM event
// is ever pending), so a scripted line on GSI 9 shares IRQ 9 with the OS's SCI
// handler as a PCI device's INTx would.
constexpr std::uint32_t kAcpiSciGsi = 9;

inline std::vector<ReservedGsi> device_gsis() {
  return {{kPitGsi, "8254 PIT"}, {kI8042KeyboardGsi, "i8042 keyboard"}, {kCom1Gsi, "COM1 UART"}};
}

}  // namespace vmm::platform
