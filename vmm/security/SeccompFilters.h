#pragma once
// seccomp-bpf confinement, one allow-list per thread kind (AllowList.h).
// The filters are compiled to BPF when vmm is built (CompiledFilters.h); each
// thread installs its kind's program with one system call when its set-up is
// done, and keeps it for good (filters cannot be removed, and threads it
// starts inherit them). A forbidden call traps: the SIGSYS handler reports the
// thread and the call on stderr and ends vmm with 128 + SIGSYS.

#include <linux/filter.h>

#include <array>
#include <cstddef>
#include <span>

#include "vmm/security/AllowList.h"

namespace vmm::security {

class SeccompFilters {
 public:
  // The allow-lists' programs, as the build compiled them.
  static SeccompFilters enabled_filters();
  // No filters: confine_current_thread() does nothing (--no-seccomp).
  static SeccompFilters disabled() { return SeccompFilters(); }

  bool enabled() const { return enabled_; }
  // Throws HostError if the kernel refuses the filter.
  void confine_current_thread(ThreadKind kind) const;

  std::size_t instructions(ThreadKind kind) const { return programs_[static_cast<std::size_t>(kind)].size(); }

 private:
  SeccompFilters() = default;

  bool enabled_ = false;
  std::array<std::span<const sock_filter>, std::size(kThreadKinds)> programs_;
};

}  // namespace vmm::security
