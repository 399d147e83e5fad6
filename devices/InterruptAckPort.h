#pragma once
// The acknowledge register of vmm's scripted interrupt lines (port 0x520, 16 bits
// wide): a guest handler writes the GSI it serviced, as a driver would clear
// the interrupt status of its device. It lowers a level line that is still
// asserted, counts the delivery, and gives the host a timestamp of the moment
// the handler ran. Reads return all-ones.

#include <cstdint>
#include <functional>

#include "devices/BusDevice.h"

namespace vmm {

class InterruptAckPort final : public BusDevice {
 public:
  static constexpr std::uint64_t kPorts = 2;

  explicit InterruptAckPort(std::function<void(std::uint32_t gsi)> on_ack) : on_ack_(std::move(on_ack)) {}

  void read(std::uint64_t, std::span<std::uint8_t> data) override {
    for (auto& byte : data) byte = 0xff;
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (offset != 0 || data.empty()) return;  // the GSI is written as one 8- or 16-bit access at the base
    const std::uint32_t gsi = data.size() >= 2 ? static_cast<std::uint32_t>(data[0] | data[1] << 8) : data[0];
    on_ack_(gsi);
  }

 private:
  std::function<void(std::uint32_t)> on_ack_;
};

}  // namespace vmm
