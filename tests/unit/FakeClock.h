#pragma once
// A clock the test steps by hand; timers fire, in deadline order, as time passes.

#include <algorithm>
#include <cstddef>
#include <map>
#include <vector>

#include "devices/Clock.h"
#include "irq/IrqLine.h"

namespace vmm::testing {

class FakeClock final : public Clock {
 public:
  std::uint64_t now_ns() const override { return now_; }

  std::unique_ptr<DeadlineTimer> make_timer(std::function<void()> on_deadline) override {
    return std::make_unique<Timer>(*this, std::move(on_deadline));
  }

  // Moves time forward to `until`, firing every deadline on the way at its own time.
  void advance_to(std::uint64_t until) {
    while (Timer* next = earliest_due(until)) {
      now_ = std::max(now_, next->deadline);
      next->armed = false;
      ++wakeups_;
      next->callback();
    }
    now_ = until;
  }
  // Timer callbacks run so far: what a real event loop would have woken for.
  std::size_t wakeups() const { return wakeups_; }
  void advance(std::uint64_t ns) { advance_to(now_ + ns); }

  // A stalled host: time jumps to `until` first, then the deadlines that fell due
  // fire late, at the new time, as an event loop catching up would run them.
  // Returns how many callbacks ran; stops after `limit` so that a timer re-armed
  // in the past for ever shows up as a large count instead of a hang.
  std::size_t jump_to(std::uint64_t until, std::size_t limit = 1'000'000) {
    now_ = std::max(now_, until);
    std::size_t fired = 0;
    while (fired < limit) {
      Timer* next = earliest_due(now_);
      if (!next) break;
      next->armed = false;
      next->callback();
      ++fired;
    }
    return fired;
  }

 private:
  struct Timer final : DeadlineTimer {
    Timer(FakeClock& clock, std::function<void()> cb) : clock(clock), callback(std::move(cb)) {
      clock.timers_.push_back(this);
    }
    ~Timer() override { std::erase(clock.timers_, this); }
    void arm(std::uint64_t at) override {
      deadline = at;
      armed = true;
    }
    void disarm() override { armed = false; }
    FakeClock& clock;
    std::function<void()> callback;
    std::uint64_t deadline = 0;
    bool armed = false;
  };

  Timer* earliest_due(std::uint64_t until) const {
    Timer* next = nullptr;
    for (auto* timer : timers_)
      if (timer->armed && timer->deadline <= until && (!next || timer->deadline < next->deadline)) next = timer;
    return next;
  }

  std::uint64_t now_ = 1'000'000'000;  // not zero, so "time 0" bugs show
  std::size_t wakeups_ = 0;
  std::vector<Timer*> timers_;
};

// Records every level change and counts rising edges.
class RecordingIrqLine final : public IrqLine {
 public:
  void set_level(bool asserted) override {
    if (asserted && !level) ++rising_edges;
    level = asserted;
    ++changes;
  }
  bool level = false;
  unsigned rising_edges = 0;
  unsigned changes = 0;
};

}  // namespace vmm::testing
