#pragma once
// The names of the exit reasons vmm handles, as in <linux/kvm.h> without
// KVM_EXIT_: one table for the stats and the trace, which each name the
// others their own way.

#include <linux/kvm.h>

#include <cstdint>

namespace vmm {

// Null for a reason vmm does not handle.
constexpr const char* exit_reason_name(std::uint64_t reason) {
  switch (reason) {
    case KVM_EXIT_IO: return "io";
    case KVM_EXIT_MMIO: return "mmio";
    case KVM_EXIT_HLT: return "hlt";
    case KVM_EXIT_INTR: return "intr";
    case KVM_EXIT_SHUTDOWN: return "shutdown";
    case KVM_EXIT_FAIL_ENTRY: return "fail_entry";
    case KVM_EXIT_INTERNAL_ERROR: return "internal_error";
    case KVM_EXIT_SYSTEM_EVENT: return "system_event";
    case KVM_EXIT_DEBUG: return "debug";
    default: return nullptr;
  }
}

}  // namespace vmm
