#pragma once
// What a bus dispatches to: a device sees an offset inside its own range and the
// bytes of one access, never a port number or a guest address.

#include <cstdint>
#include <span>

namespace vmm {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual void read(std::uint64_t offset, std::span<std::uint8_t> data) = 0;
  virtual void write(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
};

}  // namespace vmm
