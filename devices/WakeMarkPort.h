#pragma once
// The wake mark (port 0x522, 16 bits wide, write-only): a guest task writes the
// GSI whose interrupt woke it, the moment it runs again, so the host can time an
// injection to the woken task as well as to the handler (the ack port). The
// bundled kernel's waiters write it from ring 3 with wake_mark=1; its TSS I/O
// bitmap opens this port to ring 3 and nothing else. Reads return all-ones (no
// register to read back).

#include <cstdint>
#include <functional>

#include "devices/BusDevice.h"

namespace vmm {

class WakeMarkPort final : public BusDevice {
 public:
  static constexpr std::uint64_t kPorts = 2;

  explicit WakeMarkPort(std::function<void(std::uint32_t gsi)> on_mark) : on_mark_(std::move(on_mark)) {}

  void read(std::uint64_t, std::span<std::uint8_t> data) override {
    for (auto& byte : data) byte = 0xff;
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (offset != 0 || data.empty()) return;  // the GSI is written as one 8- or 16-bit access at the base
    on_mark_(data.size() >= 2 ? static_cast<std::uint32_t>(data[0] | data[1] << 8) : data[0]);
  }

 private:
  std::function<void(std::uint32_t)> on_mark_;
};

}  // namespace vmm
