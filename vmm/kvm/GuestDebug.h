#pragma once
// KVM has one KVM_SET_GUEST_DEBUG per vCPU and two users of it: a debugger
// (GDB's hardware breakpoints and single-steps) and the SYSCALL fix-up (an
// execute breakpoint on the guest's #PF handler, and one single-step past that
// handler's first instruction when a fault is not a half-done SYSCALL). While
// the fix-up is in use it owns debug register 3, and the debugger has 0-2; the
// merge below is the one place that combines them, so neither can turn the
// other's off.

#include <linux/kvm.h>

#include <cstdint>
#include <optional>

namespace vmm {

struct FixupDebug {
  std::optional<std::uint64_t> breakpoint;  // an execute breakpoint at this linear address
  bool step = false;                        // single-step one instruction
};

constexpr unsigned kFixupDebugSlot = 3;
// DR6's B3: the fix-up's breakpoint matched. BS (bit 14): a single-step.
constexpr std::uint32_t kDr6FixupSlot = 1u << kFixupDebugSlot, kDr6SingleStep = 1u << 14;

// The debugger's request with the fix-up's added: slot 3 and its DR7 enable
// bits are the fix-up's, whatever the debugger asked for in them.
kvm_guest_debug merge_guest_debug(const kvm_guest_debug& debugger, const FixupDebug& fixup);

}  // namespace vmm
