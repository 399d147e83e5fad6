#pragma once
// An edge-triggered IrqLine backed by an eventfd registered with KVM_IRQFD: each
// 0->1 transition of the device's output becomes one eventfd write, which KVM
// turns into an assert/deassert pair on the GSI, through our routing table.

#include <atomic>
#include <cstdint>

#include "irq/IrqLine.h"
#include "base/UniqueFd.h"

namespace vmm {

class IrqfdLine final : public IrqLine {
 public:
  // vm_fd is borrowed and must outlive the line.
  IrqfdLine(int vm_fd, std::uint32_t gsi);
  ~IrqfdLine() override;
  IrqfdLine(const IrqfdLine&) = delete;
  IrqfdLine& operator=(const IrqfdLine&) = delete;

  void set_level(bool asserted) override;

  std::uint32_t gsi() const { return gsi_; }
  // Edges handed to KVM (eventfd writes) since creation.
  std::uint64_t edges() const { return edges_.load(std::memory_order_relaxed); }

 private:
  int vm_fd_;
  std::uint32_t gsi_;
  UniqueFd eventfd_;
  std::atomic<bool> level_{false};
  std::atomic<std::uint64_t> edges_{0};
};

}  // namespace vmm
