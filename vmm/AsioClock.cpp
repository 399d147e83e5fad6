#include "vmm/AsioClock.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace vmm {

namespace {

class AsioDeadlineTimer final : public DeadlineTimer {
 public:
  AsioDeadlineTimer(boost::asio::io_context& io, std::function<void()> on_deadline)
      : io_(io), state_(std::make_shared<State>(io, std::move(on_deadline))) {}

  ~AsioDeadlineTimer() override { disarm(); }

  void arm(std::uint64_t deadline_ns) override {
    const std::uint64_t generation = ++state_->generation;
    boost::asio::dispatch(io_, [state = state_, generation, deadline_ns] {
      if (state->generation != generation) return;  // re-armed or disarmed meanwhile
      state->timer.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns)));
      state->timer.async_wait([state, generation](const boost::system::error_code& error) {
        if (!error && state->generation == generation) state->on_deadline();
      });
    });
  }

  void disarm() override {
    ++state_->generation;
    boost::asio::dispatch(io_, [state = state_] { state->timer.cancel(); });
  }

 private:
  // Shared with pending handlers, so a handler that runs after the owner is gone
  // finds a stale generation instead of freed memory.
  struct State {
    State(boost::asio::io_context& io, std::function<void()> callback)
        : timer(io), on_deadline(std::move(callback)) {}
    boost::asio::steady_timer timer;
    std::function<void()> on_deadline;
    std::atomic<std::uint64_t> generation{0};
  };

  boost::asio::io_context& io_;
  std::shared_ptr<State> state_;
};

}  // namespace

std::uint64_t AsioClock::now_ns() const {
  // steady_clock is CLOCK_MONOTONIC, the clock the asio timers use too.
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

std::unique_ptr<DeadlineTimer> AsioClock::make_timer(std::function<void()> on_deadline) {
  return std::make_unique<AsioDeadlineTimer>(io_, std::move(on_deadline));
}

}  // namespace vmm
