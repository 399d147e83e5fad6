#pragma once
// The PC's CMOS real-time clock (Motorola MC146818A, as every PC chipset
// copies it) at ports 0x70 (index; bit 7 masks NMI on a PC) and 0x71 (data),
// showing the host's wall-clock time, read-only.
//
// Conformance (MC146818A datasheet, "Address map" and "Registers A-D"):
// - 0x00, 0x02, 0x04, 0x06-0x09: seconds, minutes, hours, day of week (1 =
//   Sunday), day of month, month, year of century, in BCD or binary and in 24-
//   or 12-hour form (hour bit 7 = PM) as register B says; 0x32: the century
//   (where the PC's ACPI FADT puts it). Each read computes the field from the
//   wall clock at that moment, as the chip shows its running time.
// - A: 0x26 (32.768 kHz time base, 1024 Hz periodic rate); UIP is never set:
//   no update cycle is ever in progress, since every read is consistent.
// - B: writable; DM (bit 2) and 24/12 (bit 1) change how the time reads, SET
//   (bit 7) and the interrupt enables are stored and otherwise ignored.
//   Reset value 0x02: BCD, 24-hour.
// - C: 0 (no interrupt flags: the periodic, alarm and update interrupts are
//   not implemented, so IRQ 8 never fires). D: 0x80 (VRT: the RAM and time
//   are valid).
// - Writes to the time and alarm registers are ignored: the guest cannot set
//   the host's clock. The alarm registers read 0.
// - 0x0E-0x7F (except 0x32): CMOS RAM, readable and writable, zero at reset.

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>

#include "devices/BusDevice.h"

namespace vmm {

class CmosRtc final : public BusDevice {
 public:
  static constexpr std::uint64_t kBasePort = 0x70;
  static constexpr std::uint64_t kPorts = 2;
  static constexpr std::uint8_t kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c, kRegD = 0x0d, kCentury = 0x32;
  static constexpr std::uint8_t kRegBBinary = 0x04, kRegB24Hour = 0x02;

  // `now_utc_seconds`: seconds since the Unix epoch (the host's CLOCK_REALTIME;
  // unit tests pass a fixed time).
  explicit CmosRtc(std::function<std::int64_t()> now_utc_seconds) : now_(std::move(now_utc_seconds)) {}

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  std::uint8_t read_register(std::uint8_t index) const;
  std::uint8_t encode(unsigned value) const;

  std::function<std::int64_t()> now_;
  mutable std::mutex mutex_;  // vCPUs may touch it at once
  std::uint8_t index_ = 0;
  std::uint8_t reg_b_ = kRegB24Hour;
  std::array<std::uint8_t, 128> ram_{};
};

}  // namespace vmm
