#include "vmm/profile/Sampler.h"

namespace vmm::profile {

Sampler::Sampler(boost::asio::io_context& io, unsigned hz, std::size_t vcpus)
    : timer_(io), hz_(hz), period_(std::chrono::nanoseconds(1'000'000'000 / hz)) {
  for (std::size_t i = 0; i < vcpus; ++i) vcpus_.push_back(std::make_unique<VcpuSamples>());
}

void Sampler::start(std::function<void()> request_samples) {
  request_samples_ = std::move(request_samples);
  started_ = std::chrono::steady_clock::now();
  next_ = started_;
  arm();
}

void Sampler::arm() {
  next_ += period_;
  timer_.expires_at(next_);
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    // Behind by more than a period (a stalled event loop): skip the missed
    // ticks rather than fire them in a burst.
    const auto now = std::chrono::steady_clock::now();
    if (now - next_ > period_) next_ = now;
    request_samples_();
    arm();
  });
}

void Sampler::stop() {
  if (stopped_ == std::chrono::steady_clock::time_point{}) stopped_ = std::chrono::steady_clock::now();
  timer_.cancel();
}

std::chrono::nanoseconds Sampler::elapsed() const {
  const auto end = stopped_ == std::chrono::steady_clock::time_point{} ? std::chrono::steady_clock::now() : stopped_;
  return end - started_;
}

std::vector<const VcpuSamples*> Sampler::samples() const {
  std::vector<const VcpuSamples*> all;
  for (const auto& each : vcpus_) all.push_back(each.get());
  return all;
}

}  // namespace vmm::profile
