#pragma once
// Where a device's output bytes go (the serial console, a file, a socket).

#include <cstdint>
#include <span>

namespace vmm {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const std::uint8_t> bytes) = 0;
};

}  // namespace vmm
