#pragma once
// A bounded single-producer, single-consumer ring of trace records, as
// ftrace's per-CPU buffers: the owning thread pushes without a lock or a
// system call, the event loop drains. When full, a record is dropped and
// counted, never waited for and never allocated.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "vmm/trace/Record.h"

namespace vmm::trace {

class TraceRing {
 public:
  // Room for the largest power of two of records that fits in `bytes` (at least 64).
  explicit TraceRing(std::size_t bytes);

  std::size_t capacity() const { return mask_ + 1; }

  // Producer side: the one thread that owns the ring.
  void push(const Record& record) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - cached_tail_ > mask_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head - cached_tail_ > mask_) {
        dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return;
      }
    }
    records_[head & mask_] = record;
    head_.store(head + 1, std::memory_order_release);
  }

  // Consumer side: hands every record pushed so far to `consume(const Record&)`, oldest first.
  template <typename Consume>
  std::size_t drain(Consume&& consume) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    for (std::uint64_t at = tail; at != head; ++at) consume(records_[at & mask_]);
    tail_.store(head, std::memory_order_release);
    return static_cast<std::size_t>(head - tail);
  }

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct FreeDeleter {
    void operator()(Record* block) const { std::free(block); }
  };
  std::size_t mask_;
  std::unique_ptr<Record[], FreeDeleter> records_;
  alignas(64) std::atomic<std::uint64_t> head_{0};
  std::uint64_t cached_tail_ = 0;  // the producer's last look at tail_
  std::atomic<std::uint64_t> dropped_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
};

}  // namespace vmm::trace
