#pragma once
// The acknowledge register of vmm's scripted interrupt lines (abi/lines.h: port 0x520, 16 bits
// wide). A guest handler writes the GSI it is servicing, as a driver clears the
// interrupt status of its device: that lowers a level line that is still
// asserted, counts the delivery and timestamps the moment the handler ran. A
// read then returns what that write found, as a driver on a level or shared
// line reads its status register to tell its own interrupt from a spurious one:
//   1       the line had an interrupt pending: a delivery;
//   0       nothing was pending (spurious: the handler should not count it);
//   0xffff  the GSI is not a scripted line (no device answers).
// The answer is kept per vCPU (each vCPU runs on its own thread), so handlers
// on different vCPUs do not read each other's.

#include <cstdint>
#include <functional>

#include "abi/lines.h"
#include "devices/BusDevice.h"

namespace vmm {

class InterruptAckPort final : public BusDevice {
 public:
  static constexpr std::uint64_t kPorts = 2;
  enum class Answer : std::uint16_t {
    Spurious = IRQ_ACK_NOTHING_PENDING,
    Delivered = IRQ_ACK_PENDING,
    NoDevice = IRQ_ACK_NO_DEVICE,
  };

  explicit InterruptAckPort(std::function<Answer(std::uint32_t gsi)> on_ack) : on_ack_(std::move(on_ack)) {}

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override {
    const auto answer = offset == 0 ? static_cast<std::uint16_t>(last_answer_) : std::uint16_t{0xffff};
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = i < 2 ? static_cast<std::uint8_t>(answer >> (8 * i)) : 0xff;
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (offset != 0 || data.empty()) return;  // the GSI is written as one 8- or 16-bit access at the base
    const std::uint32_t gsi = data.size() >= 2 ? static_cast<std::uint32_t>(data[0] | data[1] << 8) : data[0];
    last_answer_ = on_ack_(gsi);
  }

 private:
  std::function<Answer(std::uint32_t)> on_ack_;
  static inline thread_local Answer last_answer_ = Answer::NoDevice;
};

}  // namespace vmm
