#pragma once
// A vCPU fd and its shared kvm_run page.

#include <linux/kvm.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <mutex>

#include "base/UniqueFd.h"
#include "vmm/kvm/GuestDebug.h"
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
  // KVM_SET_GUEST_DEBUG: the debugger's breakpoints and single-step, merged
  // with the SYSCALL fix-up's (merge_guest_debug). Only while the vCPU is
  // outside KVM_RUN (a debugger stops every vCPU first).
  void set_guest_debug(const kvm_guest_debug& debug);
  // The debugger's part from any thread (the event loop, while this vCPU may
  // be in KVM_RUN, where KVM_SET_GUEST_DEBUG would wait for it to exit): kept
  // until the vCPU's own thread applies it before its next KVM_RUN. The
  // caller kicks the vCPU if it must take effect now.
  void request_guest_debug(const kvm_guest_debug& debug);
  // The vCPU's own thread, before KVM_RUN: a pending request applied.
  void apply_requested_guest_debug() {
    if (debug_requested_.load(std::memory_order_acquire)) apply_request();
  }
  // Whether the debugger's part asks for a single-step.
  bool debugger_steps();
  // The fix-up's part, from the vCPU's own thread.
  void set_fixup_debug(const FixupDebug& fixup);
  // KVM_GET_MSRS / KVM_SET_MSRS of one MSR.
  std::uint64_t msr(std::uint32_t index) const;
  void set_msr(std::uint32_t index, std::uint64_t value);
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
  void apply_guest_debug();  // with debug_mutex_ held
  void apply_request();

  std::uint32_t id_;
  UniqueFd fd_;
  std::mutex debug_mutex_;
  kvm_guest_debug debugger_debug_{};
  FixupDebug fixup_debug_;
  kvm_guest_debug requested_debug_{};
  std::atomic<bool> debug_requested_{false};
  Mapping run_;
};

}  // namespace vmm
