// SIGINT, SIGTERM and SIGHUP stop vmm cleanly whatever the guest is doing:
// during boot, under heavy serial output, while paused, and with a second
// SIGINT on the heels of the first. Each time vmm exits with 128 + the signal,
// says why on stderr, and every byte the guest's UART sent reaches stdout (its
// --stats file counts them). How long each exit took after the signal is
// printed; the bound asserted (1 s) leaves room for a loaded 2-core host,
// where the measured times are some tens of milliseconds.

#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

struct Phase {
  const char* name;
  std::string cmdline;
  bool pause_first;  // pause the VM through the control socket, then signal
  std::size_t progress_lines_first;  // signal once this many progress lines came (0: at the boot line)
};

const Phase kPhases[] = {
    {"boot", "tasks=2 runtime_ms=0 progress_ms=10", false, 0},
    {"heavy_output", "tasks=8 runtime_ms=0 progress_ms=1", false, 200},
    {"paused", "tasks=2 runtime_ms=0 progress_ms=10", true, 1},
};

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

struct Outcome {
  VmmResult result;
  nlohmann::json stats;
};

Outcome stop_with(int signal, const Phase& phase, int second_signal = 0) {
  const std::string socket = scratch_path(std::string(phase.name) + ".sock");
  const std::string stats = scratch_path(std::string(phase.name) + ".stats.json");
  VmmRun run;
  run.args = {"run", "--vcpus", "2", "--cmdline", phase.cmdline, "--timeout", "120s", "--control", socket,
              "--stats", stats};
  bool paused = false;
  run.send_signal_when = [&](const std::string& out) {
    if (phase.progress_lines_first == 0) return out.find("boot kernel=") != std::string::npos;
    if (count_of(out, "\nprogress ") < phase.progress_lines_first) return false;
    if (phase.pause_first && !paused) paused = request(socket, {{"cmd", "pause"}}).value("ok", false);
    return !phase.pause_first || paused;
  };
  run.signal_to_send = signal;
  run.second_signal = second_signal;
  run.second_signal_after = std::chrono::milliseconds(1);
  Outcome outcome{run_vmm(run), {}};
  std::ifstream file(stats);
  outcome.stats = nlohmann::json::parse(file, nullptr, false);
  return outcome;
}

void expect_clean_stop(const Outcome& outcome, int signal, const char* phase) {
  const VmmResult& result = outcome.result;
  EXPECT_FALSE(result.hung);
  EXPECT_EQ(result.signal, 0) << "vmm died of a signal instead of stopping";
  EXPECT_EQ(result.exit_status, 128 + signal) << result.err;
  EXPECT_NE(result.err.find(std::string("stopped by ") + ::strsignal(signal)), std::string::npos) << result.err;
  EXPECT_GE(result.signal_to_exit.count(), 0);
  EXPECT_LT(result.signal_to_exit.count(), 1'000'000) << "exit took " << result.signal_to_exit.count() << " us";
  ASSERT_TRUE(outcome.stats.is_object()) << "no --stats file";
  const auto& serial = outcome.stats["serial"];
  EXPECT_EQ(serial["bytes_out"].get<std::uint64_t>(), result.out.size()) << "guest output lost";
  EXPECT_EQ(serial["bytes_delivered"].get<std::uint64_t>(), result.out.size());
  EXPECT_EQ(serial["bytes_discarded"].get<std::uint64_t>(), 0u);
  std::printf("[ signal   ] SIG%-4s %-22s exit %.1f ms after the signal, %zu bytes of output\n",
              ::sigabbrev_np(signal), phase, result.signal_to_exit.count() / 1000.0, result.out.size());
}

class SignalStops : public ::testing::TestWithParam<std::tuple<int, Phase>> {};

TEST_P(SignalStops, CleanlyAndKeepsEveryByte) {
  REQUIRE_KVM();
  const auto& [signal, phase] = GetParam();
  SCOPED_TRACE(phase.name);
  const Outcome outcome = stop_with(signal, phase);
  expect_clean_stop(outcome, signal, phase.name);
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalStops,
                         ::testing::Combine(::testing::Values(SIGINT, SIGTERM, SIGHUP), ::testing::ValuesIn(kPhases)),
                         [](const auto& info) {
                           return std::string(::sigabbrev_np(std::get<0>(info.param))) + "_" +
                                  std::get<1>(info.param).name;
                         });

// A second SIGINT while vmm is stopping (Ctrl-C pressed twice) changes
// nothing: the same status, and no output lost.
TEST(SignalStops, ASecondSigintWhileStoppingLosesNothing) {
  REQUIRE_KVM();
  const Outcome outcome = stop_with(SIGINT, kPhases[1], SIGINT);
  expect_clean_stop(outcome, SIGINT, "heavy_output, twice");
}

}  // namespace
}  // namespace vmm::testing
