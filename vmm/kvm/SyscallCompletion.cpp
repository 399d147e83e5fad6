#include "vmm/kvm/SyscallCompletion.h"

#include <cpuid.h>

#include <cstring>

#include "vmm/debug/PageWalk.h"
#include "vmm/kvm/ControlRegisters.h"
#include "vmm/kvm/SystemCalls.h"

namespace vmm {

namespace {

constexpr unsigned kPageFaultVector = 14;
constexpr std::size_t kGateBytes = 16;
constexpr std::uint32_t kDr6DebuggerSlots = 0x7;

}  // namespace

bool host_emulates_guest_ring0() {
  unsigned eax, ebx, ecx, edx;
  const bool vmx = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 5));
  const bool svm = __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 2));
  return !vmx && !svm;
}

void SyscallCompletion::refresh_if_due(std::chrono::steady_clock::time_point now, const kvm_sregs* synced) {
  if (synced) {
    // A kernel may set its IDT up and enter user space within milliseconds
    // (the bundled one does): a new IDT register is looked at before the
    // next entry.
    const bool moved = synced->idt.base != idt_base_ || synced->idt.limit != idt_limit_ || synced->efer != efer_;
    if (!moved && now < next_refresh_) return;
    next_refresh_ = now + kRefreshInterval;
    refresh(*synced);
    return;
  }
  // Without them, a KVM_GET_SREGS before every entry until the guest has a
  // #PF handler, then every kRefreshInterval.
  if (armed_ && now < next_refresh_) return;
  next_refresh_ = now + kRefreshInterval;
  refresh(vcpu_.sregs());
}

void SyscallCompletion::refresh(const kvm_sregs& sregs) {
  idt_base_ = sregs.idt.base;
  idt_limit_ = sregs.idt.limit;
  efer_ = sregs.efer;
  std::optional<std::uint64_t> handler;
  std::uint8_t gate[kGateBytes];
  if ((sregs.efer & x86::kEferLma) && sregs.idt.limit >= kPageFaultVector * kGateBytes + kGateBytes - 1 &&
      read_virtual(sregs, sregs.idt.base + kPageFaultVector * kGateBytes, gate, kGateBytes))
    handler = x86::idt_gate_handler(gate);
  if (handler == armed_) return;
  armed_ = handler;
  armed_flag_.store(armed_.has_value(), std::memory_order_relaxed);
  if (!stepping_over_) vcpu_.set_fixup_debug({armed_, false});
}

SyscallCompletion::Outcome SyscallCompletion::on_debug_exit(const kvm_debug_exit_arch& exit,
                                                            const kvm_sregs* synced) {
  const bool debuggers = (exit.dr6 & kDr6DebuggerSlots) || ((exit.dr6 & kDr6SingleStep) && vcpu_.debugger_steps());
  if (stepping_over_ && (exit.dr6 & kDr6SingleStep)) {
    stepping_over_ = false;
    vcpu_.set_fixup_debug({armed_, false});
    return {Verdict::SteppedOn, debuggers};
  }
  if (!(exit.dr6 & kDr6FixupSlot) || !armed_ || exit.pc != *armed_) return {Verdict::NotOurs, true};

  kvm_regs regs = vcpu_.regs();
  kvm_sregs sregs = synced ? *synced : vcpu_.sregs();
  std::uint64_t words[6];
  if (read_virtual(sregs, regs.rsp, reinterpret_cast<std::uint8_t*>(words), sizeof words)) {
    const x86::ExceptionFrame frame{words[0], words[1], words[2], words[3], words[4], words[5]};
    // The cheap tests first: most faults are not at LSTAR, and need no MSR.
    if (frame.rip == sregs.cr2 && (frame.cs & 3) == 3) {
      const x86::SystemCallMsrs msrs{.star = vcpu_.msr(x86::kMsrStar),
                                     .lstar = vcpu_.msr(x86::kMsrLstar),
                                     .fmask = vcpu_.msr(x86::kMsrFmask)};
      if (x86::is_half_done_syscall(frame, sregs.cr2, sregs.efer, msrs)) {
        x86::complete_syscall(regs, sregs, frame, msrs);
        vcpu_.set_sregs(sregs);
        vcpu_.set_regs(regs);
        return {Verdict::Completed, (exit.dr6 & kDr6SingleStep) && vcpu_.debugger_steps()};
      }
    }
  }
  // A #PF of the guest's own: past the handler's first instruction with the
  // breakpoint lifted, or it would stop there again at once.
  stepping_over_ = true;
  vcpu_.set_fixup_debug({std::nullopt, true});
  return {Verdict::SteppedOn, debuggers};
}

bool SyscallCompletion::read_virtual(const kvm_sregs& sregs, std::uint64_t address, std::uint8_t* out,
                                     std::size_t length) const {
  const debug::PagingState paging{sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer};
  const auto read_physical = debug::read_from(memory_);
  std::size_t done = 0;
  while (done < length) {
    const std::uint64_t at = address + done;
    const std::size_t chunk = std::min<std::size_t>(length - done, 4096 - (at & 4095));
    const auto physical = debug::translate(at, paging, read_physical);
    const auto host = physical ? memory_.host_span(*physical, chunk) : std::span<std::uint8_t>();
    if (host.size() < chunk) return false;
    std::memcpy(out + done, host.data(), chunk);
    done += chunk;
  }
  return true;
}

}  // namespace vmm
