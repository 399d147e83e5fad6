#pragma once
// The trace ports (abi/trace.h), 8 ports from TRACE_PORT:
//   offset 0 (0x524) r  32-bit: TRACE_PORT_ENABLED when vmm traces, else 0
//                    w  32-bit: the guest-physical address of the guest's trace area
//   offset 4 (0x528) w  32-bit TRACE_SYNC: the guest stored its TSC in the area
//                       just before; the host pairs it with the time of this exit
// Implemented: exactly those. Ignored: writes of any other width, offset or value,
// and every write while disabled (a guest registers only after reading
// TRACE_PORT_ENABLED). Other reads return all-ones, like an unclaimed port. A
// narrower read at offset 0 returns the low bytes of the value. What the address
// points to is the handler's business (vmm/trace/GuestTraceReader validates it).

#include <cstdint>
#include <functional>
#include <span>

#include "devices/BusDevice.h"
#include "abi/trace.h"

namespace vmm {

class TracePort final : public BusDevice {
 public:
  static constexpr std::uint64_t kBase = TRACE_PORT;
  static constexpr std::uint64_t kPorts = 8;
  static constexpr std::uint64_t kRegisterOffset = 0;
  static constexpr std::uint64_t kSyncOffset = TRACE_SYNC_PORT - TRACE_PORT;
  static_assert(kSyncOffset == 4);

  TracePort(bool enabled, std::function<void(std::uint32_t address)> on_register, std::function<void()> on_sync)
      : enabled_(enabled), on_register_(std::move(on_register)), on_sync_(std::move(on_sync)) {}

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override {
    if (offset != kRegisterOffset) {
      for (auto& byte : data) byte = 0xff;
      return;
    }
    const std::uint32_t value = enabled_ ? TRACE_PORT_ENABLED : 0;
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = i < 4 ? static_cast<std::uint8_t>(value >> (8 * i)) : 0xff;
  }

  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (!enabled_ || data.size() != 4) return;
    const std::uint32_t value = static_cast<std::uint32_t>(data[0]) | static_cast<std::uint32_t>(data[1]) << 8 |
                                static_cast<std::uint32_t>(data[2]) << 16 | static_cast<std::uint32_t>(data[3]) << 24;
    if (offset == kRegisterOffset)
      on_register_(value);
    else if (offset == kSyncOffset && value == TRACE_SYNC)
      on_sync_();
  }

 private:
  bool enabled_;
  std::function<void(std::uint32_t)> on_register_;
  std::function<void()> on_sync_;
};

}  // namespace vmm
