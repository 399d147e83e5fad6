#pragma once
// Where a device's output bytes go (the serial console, a file, a socket). A sink
// may be full: it takes what it has room for and says how much, and the device
// keeps the rest (the UART holds it in its transmit FIFO, so the guest sees a
// busy transmitter and waits, as it would on a slow line).

#include <cstddef>
#include <cstdint>
#include <span>

namespace vmm {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual std::size_t write(std::span<const std::uint8_t> bytes) = 0;
};

}  // namespace vmm
