#pragma once
// The host half of --trace: one bounded ring per thread that records (each
// vCPU, the event loop) and a shared one for the rest (the serial writer),
// and the calls that the machine's hot paths make. A thread finds its ring
// through a thread-local pointer, so recording is a clock read and a store
// into memory that only that thread writes: no lock, no system call.

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

#include "vmm/trace/TraceRing.h"

namespace vmm::trace {

class Tracer {
 public:
  // `buffer_bytes` is shared out between the vCPUs' rings, the event loop's
  // and the shared one; no ring grows past its share.
  Tracer(std::size_t buffer_bytes, unsigned vcpus);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  TraceRing& vcpu_ring(unsigned vcpu) { return *vcpu_rings_.at(vcpu); }
  TraceRing& event_loop_ring() { return event_loop_ring_; }

  // From now on the calling thread records into `ring` (nullptr: the shared one).
  static void bind_current_thread(TraceRing* ring);

  // Into the calling thread's ring. Only called while a Tracer exists.
  static void record(const Record& record) {
    if (TraceRing* ring = current_ring_) [[likely]]
      ring->push(record);
    else
      active_->record_shared(record);
  }

  static std::uint64_t now_ns() {
    timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);  // the vDSO: no system call
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
  }

  // Every ring's records, oldest first per ring; rings in a fixed order.
  template <typename Consume>
  std::size_t drain(Consume&& consume) {
    std::size_t count = 0;
    for (auto& ring : vcpu_rings_) count += ring->drain(consume);
    count += event_loop_ring_.drain(consume);
    std::lock_guard lock(shared_mutex_);
    count += shared_ring_.drain(consume);
    return count;
  }

  // Records lost because a ring was full.
  std::uint64_t dropped() const;
  std::size_t buffer_bytes() const { return buffer_bytes_; }

 private:
  void record_shared(const Record& record) {
    std::lock_guard lock(shared_mutex_);
    shared_ring_.push(record);
  }

  static inline thread_local TraceRing* current_ring_ = nullptr;
  static inline Tracer* active_ = nullptr;

  std::size_t buffer_bytes_;
  std::vector<std::unique_ptr<TraceRing>> vcpu_rings_;
  TraceRing event_loop_ring_;
  std::mutex shared_mutex_;  // threads without a ring of their own are rare and not on the exit path
  TraceRing shared_ring_;
};

}  // namespace vmm::trace
