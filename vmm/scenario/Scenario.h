#pragma once
// A scenario run against the live VM (docs/scenarios.md): the config's steps,
// one after the other, on the event loop. It sees the console by standing
// between the UART and its sink (every byte goes on unchanged), acts through
// the same target the control socket drives, and ends the run with
// exit_status::kScenarioFailed and one message when a step fails: which step,
// what it waited for, for how long, and the console's last lines.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <functional>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "devices/ByteSink.h"
#include "vmm/control/ControlTarget.h"
#include "vmm/scenario/ScenarioStep.h"

namespace vmm {

class Scenario final : public ByteSink {
 public:
  static constexpr std::size_t kTailLines = 20;
  // The console kept for matching and for the failure's tail.
  static constexpr std::size_t kMaxConsole = 1 << 20;
  // An expect looks at most this far back from the console's end: std::regex
  // matches by recursion, and its depth grows with the text searched.
  static constexpr std::size_t kSearchWindow = 64 << 10;

  // `fail`: ends the run with a status and a report (Machine::request_stop).
  Scenario(boost::asio::io_context& io, std::vector<ScenarioStep> steps, control::ControlTarget& target,
           ByteSink& console, std::function<void(int, std::string)> fail);

  // The first step; from the event loop, once the vCPUs run.
  void start();
  // The UART's output, on its way to the console: from a vCPU thread.
  std::size_t write(std::span<const std::uint8_t> bytes) override;
  // After the run ended with `status` and `report`: what vmm exits with. The
  // run may end only at an exit step (with its status, if it names one) or
  // after the last step; ending anywhere else fails the scenario.
  void judge_end(int& status, std::string& report);

  bool passed() const { return next_ == steps_.size(); }

 private:
  void run_steps();
  void advance();
  bool try_expect();
  bool matches_now();
  bool check(const ScenarioStep& step, std::string& why) const;
  void fail(const std::string& why);
  // ${n} replaced by the last match's group n, through `quote` if given.
  std::string substitute(const std::string& text, std::string (*quote)(const std::string&)) const;
  std::string tail() const;
  std::string step_name(std::size_t index) const;

  boost::asio::io_context& io_;
  std::vector<ScenarioStep> steps_;
  std::vector<std::regex> patterns_;  // per step; empty for steps that match nothing
  control::ControlTarget& target_;
  ByteSink& console_out_;
  std::function<void(int, std::string)> fail_;
  boost::asio::steady_timer timer_;

  mutable std::mutex mutex_;  // console_, between the vCPU threads and the event loop
  std::string console_;
  std::size_t dropped_ = 0;     // bytes cut from the front of console_
  std::atomic<bool> check_posted_{false};

  // Event loop only.
  std::size_t next_ = 0;         // the step under way
  std::size_t cursor_ = 0;       // absolute offset matching resumes from
  std::chrono::steady_clock::time_point step_started_;
  std::vector<std::string> captures_;
  bool failed_ = false;
};

}  // namespace vmm
