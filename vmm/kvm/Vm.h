#pragma once
// The VM fd: memory slots, the in-kernel interrupt controllers and GSI routing.

#include <cstdint>

#include "base/UniqueFd.h"
#include "irq/GsiRoutingTable.h"
#include "vmm/GuestMemory.h"
#include "vmm/kvm/Kvm.h"

namespace vmm {

class Vm {
 public:
  explicit Vm(const Kvm& kvm);

  int fd() const { return fd_.get(); }

  void set_memory_region(std::uint32_t slot, std::uint64_t guest_address, std::uint64_t size, void* host);
  // Every region of `memory`, a slot each, in order.
  void map(const GuestMemory& memory);
  // PIC pair, IOAPIC and a LAPIC per vCPU, in the kernel. Must precede vCPUs.
  void create_irqchip();
  void set_gsi_routing(const GsiRoutingTable& table);
  // KVM's own 8254 on ports 0x40-0x43 and a dummy port 0x61, raising GSI 0.
  void create_in_kernel_pit();

 private:
  UniqueFd fd_;
};

}  // namespace vmm
