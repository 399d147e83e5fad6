#include "vmm/trace/Tracer.h"

#include <stdexcept>

namespace vmm::trace {

namespace {

// vCPUs see most events (every exit); the event loop's ring gets a vCPU's
// share and the shared ring a quarter of one.
std::size_t share(std::size_t bytes, unsigned vcpus) { return bytes * 4 / (4 * (vcpus + 1) + 1); }

}  // namespace

Tracer::Tracer(std::size_t buffer_bytes, unsigned vcpus)
    : buffer_bytes_(buffer_bytes),
      event_loop_ring_(share(buffer_bytes, vcpus)),
      shared_ring_(share(buffer_bytes, vcpus) / 4) {
  if (active_) throw std::logic_error("one Tracer at a time");
  for (unsigned vcpu = 0; vcpu < vcpus; ++vcpu)
    vcpu_rings_.push_back(std::make_unique<TraceRing>(share(buffer_bytes, vcpus)));
  active_ = this;
}

Tracer::~Tracer() { active_ = nullptr; }

void Tracer::bind_current_thread(TraceRing* ring) { current_ring_ = ring; }

std::uint64_t Tracer::dropped() const {
  std::uint64_t total = event_loop_ring_.dropped() + shared_ring_.dropped();
  for (const auto& ring : vcpu_rings_) total += ring->dropped();
  return total;
}

}  // namespace vmm::trace
