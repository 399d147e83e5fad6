#pragma once
// The ACPI fixed-hardware power-management registers that the FADT names
// (ACPI 6.5, 4.8.3): a PM1a event block (PM1_STS, PM1_EN) and a PM1a control
// block (PM1_CNT), at consecutive ports as QEMU's PIIX4 places them. What an
// OS needs to power the machine off: SLP_TYP = the \_S5 value with SLP_EN.
//
// Conformance:
// - PM1_STS (event block +0, 16 bits): write 1 to clear. WAK_STS (bit 15) is
//   set when a sleep state other than S5 is entered: vmm implements none, so
//   the machine "wakes" at once and an OS waiting for WAK_STS goes on.
//   Nothing else ever sets a status bit (no PM timer, power or sleep button,
//   RTC alarm or GPE), so the SCI is never asserted and needs no wire here.
// - PM1_EN (+2, 16 bits): read/write, reserved bits read 0.
// - PM1_CNT (control block +0, 16 bits): SCI_EN (bit 0) reads 1, since with
//   no SMI command port the machine is always in ACPI mode (4.8.3.2.1);
//   BM_RLD (bit 1) and SLP_TYP (bits 10-12) read back; GBL_RLS (bit 2) and
//   SLP_EN (bit 13) are write-only and read 0. Writing SLP_EN with the S5
//   type powers off; any other type sets WAK_STS.
// - Byte and word accesses at any offset, little-endian, as ACPICA and DOS-era
//   code both do them.

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>

#include "devices/BusDevice.h"

namespace vmm {

class AcpiPm final : public BusDevice {
 public:
  // Offsets of the registers from the first port.
  static constexpr std::uint64_t kStatusOffset = 0, kEnableOffset = 2, kControlOffset = 4;
  static constexpr std::uint64_t kEventBlockBytes = 4, kControlBlockBytes = 2;
  static constexpr std::uint64_t kPorts = kEventBlockBytes + kControlBlockBytes;
  // The SLP_TYP value \_S5 names in vmm's DSDT.
  static constexpr std::uint16_t kSleepTypeS5 = 5;

  static constexpr std::uint16_t kStatusWake = 1u << 15;
  static constexpr std::uint16_t kStatusWritable = 0x8731;  // TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK
  static constexpr std::uint16_t kEnableWritable = 0x0721;  // TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN
  static constexpr std::uint16_t kControlSciEnable = 1u << 0, kControlBusMasterReload = 1u << 1,
                                 kControlGlobalRelease = 1u << 2, kControlSleepEnable = 1u << 13;
  static constexpr unsigned kSleepTypeShift = 10;
  static constexpr std::uint16_t kSleepTypeMask = 0x7u << kSleepTypeShift;

  explicit AcpiPm(std::function<void()> on_power_off) : on_power_off_(std::move(on_power_off)) {}

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  // Sleep requests for a state vmm does not implement (answered by waking).
  std::uint64_t unsupported_sleeps() const;

 private:
  std::uint16_t register_value(std::uint64_t register_offset) const;
  void write_register(std::uint64_t register_offset, std::uint16_t value, std::uint16_t byte_mask);

  std::function<void()> on_power_off_;
  mutable std::mutex mutex_;  // vCPUs may touch it at once
  std::uint16_t status_ = 0;
  std::uint16_t enable_ = 0;
  std::uint16_t control_ = kControlSciEnable;
  std::uint64_t unsupported_sleeps_ = 0;
};

}  // namespace vmm
