#pragma once
// A register that reads back what was last written, nothing more. vmm maps one
// at port 0x80, the PC's POST-code port (firmware writes progress codes there
// and Linux writes it for I/O delays, so every PC VMM answers it), and one in
// MMIO (platform::kScratchMmio), so that the cost of an exit to vmm can be
// measured on both kinds of access with a device that does no work of its own.
// Up to 8 bytes wide; narrower reads return the low bytes.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>

#include "devices/BusDevice.h"

namespace vmm {

class ScratchRegister final : public BusDevice {
 public:
  static constexpr std::uint64_t kBytes = 8;

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override {
    const std::uint64_t value = value_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < data.size(); ++i)
      data[i] = offset + i < kBytes ? static_cast<std::uint8_t>(value >> (8 * (offset + i))) : 0xff;
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    std::uint64_t value = value_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < data.size() && offset + i < kBytes; ++i) {
      const unsigned shift = static_cast<unsigned>(8 * (offset + i));
      value = (value & ~(std::uint64_t{0xff} << shift)) | std::uint64_t{data[i]} << shift;
    }
    value_.store(value, std::memory_order_relaxed);  // vCPUs race as they would on hardware
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace vmm
