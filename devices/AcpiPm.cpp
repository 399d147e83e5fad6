#include "devices/AcpiPm.h"

namespace vmm {

namespace {
constexpr std::uint64_t kRegisterBytes = 2;
}

std::uint16_t AcpiPm::register_value(std::uint64_t register_offset) const {
  switch (register_offset) {
    case kStatusOffset: return status_;
    case kEnableOffset: return enable_;
    default: return control_ & ~(kControlGlobalRelease | kControlSleepEnable);
  }
}

void AcpiPm::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t at = offset + i;
    if (at >= kPorts) {
      data[i] = 0xff;
      continue;
    }
    const std::uint16_t value = register_value(at & ~(kRegisterBytes - 1));
    data[i] = static_cast<std::uint8_t>(value >> (8 * (at % kRegisterBytes)));
  }
}

void AcpiPm::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  // One update per register the access covers, so that a word write of
  // SLP_TYP and SLP_EN together acts once, with both.
  for (std::uint64_t reg = 0; reg < kPorts; reg += kRegisterBytes) {
    std::uint16_t value = 0, byte_mask = 0;
    for (std::size_t i = 0; i < data.size(); ++i) {
      const std::uint64_t at = offset + i;
      if (at < reg || at >= reg + kRegisterBytes) continue;
      const unsigned shift = 8 * static_cast<unsigned>(at - reg);
      value = static_cast<std::uint16_t>(value | data[i] << shift);
      byte_mask = static_cast<std::uint16_t>(byte_mask | 0xffu << shift);
    }
    if (byte_mask) write_register(reg, value, byte_mask);
  }
}

void AcpiPm::write_register(std::uint64_t register_offset, std::uint16_t value, std::uint16_t byte_mask) {
  const std::uint16_t written = value & byte_mask;
  switch (register_offset) {
    case kStatusOffset:
      status_ = static_cast<std::uint16_t>(status_ & ~(written & kStatusWritable));
      return;
    case kEnableOffset:
      enable_ = static_cast<std::uint16_t>((enable_ & ~byte_mask) | (written & kEnableWritable));
      return;
    default: break;
  }
  const std::uint16_t kept = kControlBusMasterReload | kSleepTypeMask;
  const std::uint16_t merged = static_cast<std::uint16_t>((control_ & ~byte_mask) | written);
  control_ = static_cast<std::uint16_t>(kControlSciEnable | (merged & kept));
  if (!(written & kControlSleepEnable)) return;
  if (((control_ & kSleepTypeMask) >> kSleepTypeShift) == kSleepTypeS5) {
    on_power_off_();
    return;
  }
  status_ |= kStatusWake;
  ++unsupported_sleeps_;
}

std::uint64_t AcpiPm::unsupported_sleeps() const {
  std::lock_guard lock(mutex_);
  return unsupported_sleeps_;
}

}  // namespace vmm
