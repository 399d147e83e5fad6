#pragma once
// Finishes the SYSCALLs this host's KVM leaves half done (nested kvm_pvm: RIP
// from IA32_LSTAR, RCX, R11 and the FMASK done, CS and SS left at the user's),
// for one vCPU, on its own thread.
//
// The half-done SYSCALL's first fetch at LSTAR faults (#PF, a user access to
// a supervisor page), and the guest's #PF handler is entered in ring 0, where
// this host's KVM can stop on a hardware execute breakpoint. So the fix-up
// keeps debug register 3 on the handler that vector 14 of the guest's IDT
// names, reads the exception frame there, and when it is exactly that fault
// (x86::is_half_done_syscall) completes the SYSCALL (x86::complete_syscall).
// Any other #PF goes on untouched: the breakpoint is lifted for one
// single-step over the handler's first instruction, then set again.
//
// The gate is read from guest memory whenever the IDT register changes, and
// every kRefreshInterval besides (until it is armed, Machine kicks a vCPU out
// of KVM_RUN when it has had no exit for that long: an AP may only halt and
// take interrupts KVM delivers itself, and would otherwise never look), since a guest may rewrite its gate in place
// (Linux does, early in boot): a guest that changes its #PF handler and makes
// a SYSCALL from ring 3 within that time with no exit in between would see
// the plain #PF. Neither the bundled kernel nor Linux does: both set up their
// IDT long before user space. KVM hands the IDT register over in kvm_run at
// each exit (KVM_CAP_SYNC_REGS), so watching it costs no ioctl; without that
// capability it is read with KVM_GET_SREGS before every entry until the guest
// has a #PF handler, then every kRefreshInterval.
//
// Only where KVM runs guest ring 0 in its emulator (host_emulates_guest_ring0);
// on hardware virtualization SYSCALL is the CPU's and none of this exists.

#include <linux/kvm.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "vmm/GuestMemory.h"
#include "vmm/kvm/Vcpu.h"

namespace vmm {

// True where KVM is not hardware virtualization (the host CPU has neither VMX
// nor SVM, yet /dev/kvm works: kvm_pvm), so guest ring 0 runs in KVM's
// instruction emulator and SYSCALL is left half done.
bool host_emulates_guest_ring0();

class SyscallCompletion {
 public:
  static constexpr std::chrono::milliseconds kRefreshInterval{20};

  SyscallCompletion(Vcpu& vcpu, const GuestMemory& memory) : vcpu_(vcpu), memory_(memory) {}

  // Before a KVM_RUN: reads the #PF gate (until there is one, every time; then
  // when kRefreshInterval has passed or the IDT register changed) and moves
  // the breakpoint to the handler it names. `synced`: the special registers
  // KVM left in kvm_run at the last exit (KVM_CAP_SYNC_REGS), so that no
  // ioctl is needed; null where there are none (KVM_GET_SREGS then).
  void refresh_if_due(std::chrono::steady_clock::time_point now, const kvm_sregs* synced);

  enum class Verdict {
    NotOurs,    // a debug exit for the debugger, or the guest's own #DB
    Completed,  // a half-done SYSCALL, now in ring 0 at LSTAR
    SteppedOn,  // an ordinary #PF stepped over, or that step's end
  };
  struct Outcome {
    Verdict verdict;
    bool debugger_too;  // the same exit is also one of the debugger's (its breakpoint, its step)
  };
  // `synced`: as for refresh_if_due, the special registers of this exit.
  Outcome on_debug_exit(const kvm_debug_exit_arch& exit, const kvm_sregs* synced);

  // Where the breakpoint is: the guest's #PF handler; none before the guest has one.
  std::optional<std::uint64_t> armed_at() const { return armed_; }
  // Whether it is anywhere yet; any thread (Machine kicks a vCPU that is not).
  bool armed() const { return armed_flag_.load(std::memory_order_relaxed); }

 private:
  void refresh(const kvm_sregs& sregs);
  // `length` bytes at a guest-virtual address, through the vCPU's page tables;
  // false when any of them is not in guest RAM.
  bool read_virtual(const kvm_sregs& sregs, std::uint64_t address, std::uint8_t* out, std::size_t length) const;

  Vcpu& vcpu_;
  const GuestMemory& memory_;
  std::optional<std::uint64_t> armed_;
  std::atomic<bool> armed_flag_{false};
  bool stepping_over_ = false;
  std::chrono::steady_clock::time_point next_refresh_{};
  std::uint64_t idt_base_ = 0, efer_ = 0;
  std::uint16_t idt_limit_ = 0;
};

}  // namespace vmm
