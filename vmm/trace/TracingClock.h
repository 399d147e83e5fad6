#pragma once
// A Clock for the PIT that records, for every deadline its timers reach, the
// deadline asked for and when the event loop really ran it: how late IRQ0 is.

#include <cstdint>
#include <functional>
#include <memory>

#include "devices/Clock.h"
#include "vmm/trace/Tracer.h"

namespace vmm::trace {

class TracingClock final : public Clock {
 public:
  explicit TracingClock(Clock& inner) : inner_(inner) {}

  std::uint64_t now_ns() const override { return inner_.now_ns(); }

  std::unique_ptr<DeadlineTimer> make_timer(std::function<void()> on_deadline) override {
    auto timer = std::make_unique<Timer>();
    timer->inner = inner_.make_timer([raw = timer.get(), callback = std::move(on_deadline)] {
      Tracer::record({.start = raw->deadline, .end = Tracer::now_ns(), .kind = RecordKind::PitDeadline});
      callback();
    });
    return timer;
  }

 private:
  struct Timer final : DeadlineTimer {
    void arm(std::uint64_t deadline_ns) override {
      deadline = deadline_ns;
      inner->arm(deadline_ns);
    }
    void disarm() override { inner->disarm(); }
    std::uint64_t deadline = 0;
    std::unique_ptr<DeadlineTimer> inner;
  };

  Clock& inner_;
};

}  // namespace vmm::trace
