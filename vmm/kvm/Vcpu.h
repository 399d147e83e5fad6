#pragma once
// A vCPU fd and its shared kvm_run page.

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/UniqueFd.h"
#include "vmm/kvm/Mapping.h"

namespace vmm {

class Vcpu {
 public:
  Vcpu(int vm_fd, std::uint32_t id, std::size_t run_mmap_size);

  std::uint32_t id() const { return id_; }
  kvm_run& run_state() { return *static_cast<kvm_run*>(run_.get()); }
  // KVM_RUN once; returns 0 or the errno (EINTR, EAGAIN are the benign ones).
  int run();

  kvm_regs regs() const;
  void set_regs(const kvm_regs& regs);
  kvm_sregs sregs() const;
  void set_sregs(const kvm_sregs& sregs);
  void set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);
  // KVM_NMI: queues an NMI for the next entry. Only from the vCPU's own thread
  // (it takes the vCPU mutex, which KVM_RUN holds).
  void inject_nmi();
  // KVM_SET_GUEST_DEBUG: breakpoints, single-step. Only while the vCPU is
  // outside KVM_RUN (a debugger stops every vCPU first).
  void set_guest_debug(const kvm_guest_debug& debug);
  kvm_lapic_state lapic() const;
  void set_lapic(const kvm_lapic_state& state);

  // KVM_GET_STATS_FD: a read-only fd of this vCPU's binary statistics. Only
  // where the VM's Kvm reports KVM_CAP_BINARY_STATS_FD; throws HostError.
  UniqueFd open_stats() const;
  // The x87/SSE state (KVM_GET_FPU): MXCSR for the emulation fix-ups.
  kvm_fpu fpu() const;
  void set_fpu(const kvm_fpu& fpu);
  kvm_vcpu_events events() const;
  void set_events(const kvm_vcpu_events& events);
  // The guest's TSC frequency (KVM_GET_TSC_KHZ); none where KVM cannot say.
  std::optional<std::uint32_t> tsc_khz() const;

  // General and control registers, for crash reports. Never throws.
  std::string describe_registers() const;

 private:
  std::uint32_t id_;
  UniqueFd fd_;
  Mapping run_;
};

}  // namespace vmm
