#pragma once
// The host side of devices/Clock.h: CLOCK_MONOTONIC time and one-shot timers on
// the Boost.Asio event loop at absolute deadlines, so periodic sources never
// drift. Timers may be armed from any thread; the asio timer itself is only
// touched on the event-loop thread.

#include <boost/asio/io_context.hpp>

#include "devices/Clock.h"

namespace vmm {

class AsioClock final : public Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io) : io_(io) {}
  std::uint64_t now_ns() const override;
  std::unique_ptr<DeadlineTimer> make_timer(std::function<void()> on_deadline) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace vmm
