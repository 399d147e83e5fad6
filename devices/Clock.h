#pragma once
// Time as the device models see it: a monotonic clock in nanoseconds and one-shot
// timers at absolute deadlines. The machine plugs in the host clock and the event
// loop; unit tests plug in a clock they step by hand.

#include <cstdint>
#include <functional>
#include <memory>

namespace vmm {

class DeadlineTimer {
 public:
  virtual ~DeadlineTimer() = default;
  // Replaces any earlier deadline. The callback runs once, at or after the
  // deadline, on the event-loop thread; a deadline in the past fires at once.
  virtual void arm(std::uint64_t deadline_ns) = 0;
  virtual void disarm() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::uint64_t now_ns() const = 0;
  virtual std::unique_ptr<DeadlineTimer> make_timer(std::function<void()> on_deadline) = 0;
};

}  // namespace vmm
