#pragma once
// A level-triggered IrqLine on KVM's resampling irqfd. Asserting writes the
// eventfd; KVM holds the GSI high until the guest's EOI, then lowers it and
// signals the resamplefd. If the device still asserts its line then, we raise
// it again, so a level interrupt the guest has not serviced at the device keeps
// coming back, as on a wire.

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>

#include "irq/IrqLine.h"
#include "base/UniqueFd.h"

namespace vmm {

class ResampledIrqfdLine final : public IrqLine {
 public:
  // vm_fd is borrowed; resample notifications are read on `io`'s thread.
  ResampledIrqfdLine(int vm_fd, std::uint32_t gsi, boost::asio::io_context& io);
  ~ResampledIrqfdLine() override;
  ResampledIrqfdLine(const ResampledIrqfdLine&) = delete;
  ResampledIrqfdLine& operator=(const ResampledIrqfdLine&) = delete;

  void set_level(bool asserted) override;
  // Before the guest's EOI: KVM still holds the GSI, and only deassigning the
  // irqfd lowers it. From the event loop (the vCPUs' seccomp filter has no
  // KVM_IRQFD).
  void retract() override;

  // Called on the event loop at every resample (the guest's EOI), before the
  // line decides to come back: the device may lower or re-raise it from here.
  void set_resample_callback(std::function<void()> callback) { on_resample_ = std::move(callback); }

  std::uint32_t gsi() const { return gsi_; }
  std::uint64_t assertions() const { return assertions_.load(std::memory_order_relaxed); }
  std::uint64_t resamples() const { return resamples_.load(std::memory_order_relaxed); }
  // Retractions that found the GSI held, each a deassign and assign of the irqfd.
  std::uint64_t withdrawals() const { return withdrawals_.load(std::memory_order_relaxed); }

 private:
  bool assign();
  void deassign();
  void trigger();
  void withdraw();
  void wait_for_resample();

  int vm_fd_;
  std::uint32_t gsi_;
  UniqueFd trigger_fd_;
  boost::asio::posix::stream_descriptor resample_;
  std::array<std::uint8_t, 8> resample_count_{};
  std::atomic<bool> level_{false};
  std::atomic<std::uint64_t> assertions_{0};
  std::atomic<std::uint64_t> resamples_{0};
  std::atomic<std::uint64_t> withdrawals_{0};
  std::atomic<bool> held_by_kvm_{false};  // triggered, and no resample since
  std::function<void()> on_resample_;
};

}  // namespace vmm
