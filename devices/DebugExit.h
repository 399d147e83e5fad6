#pragma once
// debug-exit (port 0xF4): a byte written here ends the run with that byte as the
// exit status. QEMU's isa-debug-exit at the same port exits with (v << 1) | 1,
// so one guest runs under both.

#include <functional>

#include "devices/BusDevice.h"

namespace vmm {

class DebugExit final : public BusDevice {
 public:
  static constexpr std::uint64_t kPorts = 1;
  explicit DebugExit(std::function<void(std::uint8_t)> on_exit) : on_exit_(std::move(on_exit)) {}

  void read(std::uint64_t, std::span<std::uint8_t> data) override {
    for (auto& byte : data) byte = 0xff;
  }
  void write(std::uint64_t, std::span<const std::uint8_t> data) override {
    if (!data.empty()) on_exit_(data[0]);
  }

 private:
  std::function<void(std::uint8_t)> on_exit_;
};

}  // namespace vmm
