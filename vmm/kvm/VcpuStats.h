#pragma once
// A vCPU's counters from KVM's binary statistics (KVM_GET_STATS_FD on the vCPU
// fd, Linux 5.14 and later; Documentation/virt/kvm/api.rst): the header and the
// descriptors are read once, each value with one pread when asked. Any thread
// may read: the fd is read-only and takes no vCPU lock, so a vCPU in KVM_RUN
// is never disturbed. Without the ioctl every value is absent, never made up.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/UniqueFd.h"

namespace vmm {

class VcpuStats {
 public:
  // No statistics (the kernel lacks KVM_CAP_BINARY_STATS_FD).
  VcpuStats() = default;
  // Reads the header and descriptors of an open statistics fd. Throws HostError
  // when they cannot be read or do not make sense.
  explicit VcpuStats(UniqueFd fd);

  bool available() const { return fd_.valid(); }

  // The first value of the named statistic, as KVM stores it; absent when there
  // are no statistics, no such name, or the read fails.
  std::optional<std::uint64_t> value(std::string_view name) const;
  // A statistic in seconds (KVM_STATS_UNIT_SECONDS) converted to nanoseconds.
  std::optional<std::uint64_t> nanoseconds(std::string_view name) const;

  // Cumulative time the vCPU spent halted, waiting for an interrupt, in the
  // kernel (KVM handles HLT itself with the in-kernel irqchip).
  std::optional<std::uint64_t> halt_wait_ns() const { return nanoseconds("halt_wait_ns"); }
  // HLT exits (x86), whether or not the vCPU then waited.
  std::optional<std::uint64_t> halt_exits() const { return value("halt_exits"); }

 private:
  struct Descriptor {
    std::string name;
    std::uint32_t flags;
    std::int16_t exponent;
    std::uint64_t offset;  // of the value, from the start of the fd
  };
  const Descriptor* find(std::string_view name) const;

  UniqueFd fd_;
  std::vector<Descriptor> descriptors_;
};

}  // namespace vmm
