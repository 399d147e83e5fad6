#pragma once
// The profiler's clock: on the event loop, every 1/hz seconds, asks every vCPU
// for a sample (VcpuRunner::request_sample kicks it out of KVM_RUN; its
// thread reads RIP and CPL into its VcpuSamples). The deadlines are absolute,
// so a late wake-up does not stretch the period.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "vmm/profile/Profile.h"

namespace vmm::profile {

class Sampler {
 public:
  static constexpr unsigned kMinHz = 1, kMaxHz = 10000, kDefaultHz = 1000;

  Sampler(boost::asio::io_context& io, unsigned hz, std::size_t vcpus);

  // The vCPU `id`'s counts: its runner writes them.
  VcpuSamples& vcpu(std::size_t id) { return *vcpus_[id]; }
  // Starts the clock; `request_samples` asks every vCPU for one.
  void start(std::function<void()> request_samples);
  void stop();

  unsigned hz() const { return hz_; }
  // How long sampling ran, and the vCPUs' counts: after the runners are joined.
  std::chrono::nanoseconds elapsed() const;
  std::vector<const VcpuSamples*> samples() const;

 private:
  void arm();

  boost::asio::steady_timer timer_;
  unsigned hz_;
  std::chrono::nanoseconds period_;
  std::vector<std::unique_ptr<VcpuSamples>> vcpus_;
  std::function<void()> request_samples_;
  std::chrono::steady_clock::time_point started_{}, stopped_{};
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace vmm::profile
