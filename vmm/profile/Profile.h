#pragma once
// The guest sampling profiler's data and its report (vmm run --profile).
// Every 1/hz seconds the event loop kicks each vCPU out of KVM_RUN; the vCPU's
// own thread then reads its RIP and CPL and counts them here (VcpuSamples: one
// writer, read after the thread is joined). At exit the counts become
// folded-stack lines, "vcpu0;ring0;native_safe_halt 1234", which
// flamegraph.pl and speedscope read, and a table of the top symbols.

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "vmm/profile/Symbols.h"

namespace vmm::profile {

class VcpuSamples {
 public:
  // `ring` is the CPL (0-3); rings 1 and 2 count as ring 0's kernel side.
  void add(unsigned ring, std::uint64_t rip) { ++by_rip_[ring == 3 ? 1 : 0][rip]; }
  // What taking the sample cost this thread (the register reads and the count).
  void add_cost(std::chrono::nanoseconds cost) { cost_ += cost; }

  const std::unordered_map<std::uint64_t, std::uint64_t>& kernel() const { return by_rip_[0]; }
  const std::unordered_map<std::uint64_t, std::uint64_t>& user() const { return by_rip_[1]; }
  std::chrono::nanoseconds cost() const { return cost_; }

 private:
  std::unordered_map<std::uint64_t, std::uint64_t> by_rip_[2];
  std::chrono::nanoseconds cost_{0};
};

struct ProfileReport {
  std::string folded;  // the --profile file
  std::string summary;  // for stderr: rates, splits and the top table
  std::uint64_t samples = 0;
};

// `elapsed` is how long sampling ran; `top` rows in the table.
ProfileReport make_report(const std::vector<const VcpuSamples*>& vcpus, const Symbols& symbols,
                          std::chrono::nanoseconds elapsed, unsigned hz, std::size_t top = 20);

}  // namespace vmm::profile
