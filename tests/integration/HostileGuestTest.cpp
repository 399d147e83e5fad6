// Guests that misbehave on purpose (tests/guests/hostile-guest.S): vmm ends
// each with the right status and a short report, never a crash or a hang, and
// keeps answering its control socket meanwhile.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

constexpr int kTimeout = 124;

std::string guest(const std::string& name) { return std::string(VMM_HOSTILE_GUESTS) + "/hostile-" + name + ".elf"; }

nlohmann::json read_stats(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file, nullptr, false);
}

VmmResult run_guest(const std::string& name, const std::string& stats, const std::string& timeout = "120s") {
  VmmRun run;
  run.args = {"run", "--kernel", guest(name), "--memory", "16", "--vcpus", "1", "--timeout", timeout, "--stats", stats};
  run.limit = std::chrono::minutes(3);
  return run_vmm(run);
}

// Nothing can wake a vCPU halted with interrupts off: only --timeout ends it,
// on time, with its status.
TEST(HostileGuest, CliHltEndsOnlyByTheTimeout) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("cli_hlt", stats, "2s");
  EXPECT_FALSE(result.hung);
  EXPECT_EQ(result.exit_status, kTimeout) << describe(result);
  EXPECT_EQ(result.out, "cli_hlt\n");
  EXPECT_NE(result.err.find("timeout"), std::string::npos) << describe(result);
  EXPECT_GE(result.elapsed.count(), 2000);
  EXPECT_LT(result.elapsed.count(), 20000);
}

// An out and an in on every port but debug-exit and the i8042's reset port:
// unclaimed ports read as all-ones and are counted, claimed ones take the
// garbage, and the guest still exits with its own status.
TEST(HostileGuest, PortStormOverTheWholePortSpace) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("port_storm", stats);
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out.rfind("port_storm\n", 0), 0u) << describe(result);
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  EXPECT_GT(counted["unclaimed"]["port_io"].get<std::uint64_t>(), 60000u);
  // Logged at a limited rate, not once per access.
  EXPECT_LT(std::count(result.err.begin(), result.err.end(), '\n'), 20) << result.err;
}

// Reads and writes every 64 KiB from the end of RAM to 4 GiB: holes, the
// LAPIC and IOAPIC pages, the scratch register, and the last bytes of RAM.
TEST(HostileGuest, MmioStormUpToFourGiB) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("mmio_storm", stats);
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out, "mmio_storm\n");
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  EXPECT_GT(counted["unclaimed"]["mmio"].get<std::uint64_t>(), 60000u);
  EXPECT_LT(std::count(result.err.begin(), result.err.end(), '\n'), 20) << result.err;
}

// Every byte value to every PIT and UART register (and port 0x61) in random
// order: the models take it, and the UART still carries the guest's last line.
TEST(HostileGuest, GarbageInEveryDeviceRegister) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("device_garbage", stats);
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out.rfind("device_garbage\n", 0), 0u) << describe(result);
  EXPECT_NE(result.out.find("ok\n"), std::string::npos) << describe(result);
}

// The PIT at its fastest rate (divisor 1, 1.19 MHz) into a guest that never
// EOIs: vmm's event loop must not drown in deadlines. The control socket keeps
// answering within 100 ms, and the timeout still ends the run.
TEST(HostileGuest, PitAtItsFastestRateNeverAcknowledged) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json"), socket = scratch_path("sock");
  auto vm = std::async(std::launch::async, [&] {
    VmmRun run;
    run.args = {"run", "--kernel", guest("pit_flood"), "--memory", "16", "--vcpus", "1", "--timeout", "4s",
                "--control", socket, "--stats", stats};
    run.limit = std::chrono::minutes(2);
    return run_vmm(run);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the flood is on by now
  long slowest_us = 0;
  int answered = 0;
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto answer = request(socket, {{"cmd", "stats"}});
    const long us = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
    if (answer.value("ok", false)) {
      ++answered;
      slowest_us = std::max(slowest_us, us);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, kTimeout) << describe(result);
  EXPECT_EQ(answered, 20);
  EXPECT_LT(slowest_us, 100'000) << "the control socket took " << slowest_us << " us to answer";
  std::printf("[ hostile  ] pit_flood: slowest stats answer %.1f ms\n", slowest_us / 1000.0);
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  EXPECT_GT(counted["pit"]["irq_edges"].get<std::uint64_t>(), 0u);
}

}  // namespace
}  // namespace vmm::testing
