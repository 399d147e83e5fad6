#pragma once
// Ports that a PC decodes but that vmm leaves empty on purpose: reads return
// all-ones, as with nothing answering on the bus, writes are dropped. Unlike
// an unclaimed port, a guest that probes them (Linux's PCI probe at
// 0xCF8-0xCFF, which then finds no type 1 or type 2 configuration access and
// boots without PCI) is expected: no log line, and they are named in the stats.

#include <cstdint>
#include <span>

#include "devices/BusDevice.h"

namespace vmm {

class AbsentDevice final : public BusDevice {
 public:
  void read(std::uint64_t, std::span<std::uint8_t> data) override {
    for (auto& byte : data) byte = 0xff;
  }
  void write(std::uint64_t, std::span<const std::uint8_t>) override {}
};

}  // namespace vmm
