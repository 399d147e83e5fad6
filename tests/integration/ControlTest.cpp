// The control socket under load and abuse: many clients injecting at once,
// clients sending garbage, oversize lines and hanging up mid-request. The totals
// must stay exact and the VM unaffected; pause must stop the guest and resume
// must let it go on.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

std::string write_config(const std::string& path) {
  std::ofstream(path) << R"({"cmdline": "tasks=2 runtime_ms=0 progress_ms=100 nmi=finish intc=ioapic irqs=5,17:level,24:msi80", "timeout_ms": 120000,
    "irq": {"lines": [{"name": "nic", "gsi": 5}, {"name": "disk", "gsi": 17, "trigger": "level"},
                      {"name": "msi", "gsi": 24, "msi": {"apic_id": 0, "vector": 80}}]}})";
  return path;
}

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = scratch_path("json");
    socket_ = scratch_path("sock");
    serial_ = scratch_path("serial");
    stats_ = scratch_path("stats.json");
  }
  std::future<VmmResult> start_vm() {
    const std::string config = write_config(config_);
    return std::async(std::launch::async, [=, this] {
      return run_vmm({"run", config, "--control", socket_, "--serial", "file:" + serial_, "--stats", stats_});
    });
  }
  // The complete lines so far: vmm may be in the middle of writing the last.
  std::string serial_output() {
    std::ifstream file(serial_);
    std::stringstream text;
    text << file.rdbuf();
    const std::string all = text.str();
    return all.substr(0, all.rfind('\n') + 1);
  }
  std::size_t progress_lines() { return lines_with_tag(serial_output(), "progress").size(); }
  // The guest's tick count in its latest progress line (hz=1000: milliseconds).
  std::uint64_t latest_ticks() {
    const auto lines = lines_with_tag(serial_output(), "progress");
    return lines.empty() ? 0 : std::stoull(field(lines.back(), "ticks"));
  }

  std::string config_, socket_, serial_, stats_;
};

TEST_F(ControlTest, TwentyConcurrentClientsAndAbusersKeepTotalsExact) {
  REQUIRE_KVM();
  auto vm = start_vm();
  ASSERT_TRUE(request(socket_, {{"cmd", "stats"}})["ok"].get<bool>());

  constexpr int kClients = 20, kRequestsPerClient = 50;
  const char* lines[] = {"nic", "disk", "msi"};
  std::atomic<int> refused{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const int fd = connect_unix(socket_);
      std::string buffer;
      for (int r = 0; r < kRequestsPerClient; ++r) {
        const nlohmann::json body = {{"cmd", "inject"}, {"line", lines[(c + r) % 3]}, {"count", 2},
                                     {"interval_us", 100}};
        if (!send_all(fd, body.dump() + "\n")) ++refused;
        const std::string line = read_line(fd, buffer);
        if (line.empty() || !nlohmann::json::parse(line)["ok"].get<bool>()) ++refused;
      }
      ::close(fd);
    });
  }
  // Abusers, at the same time.
  std::thread garbage([&] {
    const int fd = connect_unix(socket_);
    std::string buffer;
    send_all(fd, "this is not json\n{\"cmd\": 42}\n{\"cmd\": \"explode\"}\n[1,2]\n");
    for (int i = 0; i < 4; ++i) {
      const auto answer = nlohmann::json::parse(read_line(fd, buffer));
      EXPECT_FALSE(answer["ok"].get<bool>());
      EXPECT_FALSE(answer["error"].get<std::string>().empty());
    }
    ::close(fd);
  });
  std::thread oversize([&] {
    const int fd = connect_unix(socket_);
    std::string buffer;
    send_all(fd, std::string(70000, 'x'));
    const std::string line = read_line(fd, buffer);
    EXPECT_NE(line.find("longer than 65536"), std::string::npos) << line;
    EXPECT_EQ(read_line(fd, buffer), "") << "the connection should be closed";
    ::close(fd);
  });
  std::thread hang_up([&] {
    for (int i = 0; i < 10; ++i) {
      const int fd = connect_unix(socket_);
      send_all(fd, R"({"cmd": "inject", "line": "nic")");  // no newline: never a whole request
      ::close(fd);
    }
  });
  for (auto& client : clients) client.join();
  garbage.join();
  oversize.join();
  hang_up.join();
  EXPECT_EQ(refused.load(), 0);

  // Every accepted request scheduled two injections; wait until all have fired
  // and the guest has taken what it will.
  wait_until_quiet(socket_);
  // A progress line comes every 100 ms of a task's run time, which a starved
  // host stretches: unloaded one comes within 100-200 ms; under four busy
  // loops on two cores, ticks arrive late and count as steal, so give it 10 s.
  const std::size_t before = progress_lines();
  for (int waited_ms = 0; progress_lines() == before && waited_ms < 10000; waited_ms += 50)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GT(progress_lines(), before) << "the guest stopped making progress";
  EXPECT_TRUE(request(socket_, {{"cmd", "nmi"}})["ok"].get<bool>());  // nmi=finish: the guest reports and exits
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, 0) << result.err;

  std::ifstream stats_file(stats_);
  const auto stats = nlohmann::json::parse(stats_file, nullptr, false);
  ASSERT_TRUE(stats.is_object()) << "no --stats file";
  std::uint64_t total = 0;
  const std::string output = serial_output();
  for (const auto& line : stats["lines"]) {
    SCOPED_TRACE(line.dump());
    const auto injected = line["injected"].get<std::uint64_t>(), delivered = line["delivered"].get<std::uint64_t>();
    total += injected;
    EXPECT_EQ(delivered + line["coalesced"].get<std::uint64_t>(), injected);
    std::string guest_count;
    for (const auto& irq : lines_with_tag(output, "irq"))
      if (field(irq, "gsi") == std::to_string(line["gsi"].get<unsigned>())) guest_count = field(irq, "count");
    EXPECT_EQ(guest_count, std::to_string(delivered)) << "the guest's count and vmm's delivered differ";
  }
  EXPECT_EQ(total, 2u * kClients * kRequestsPerClient) << stats.dump(2);
}

TEST_F(ControlTest, PauseStopsTheGuestAndResumeLetsItGoOn) {
  REQUIRE_KVM();
  auto vm = start_vm();
  ASSERT_TRUE(request(socket_, {{"cmd", "stats"}})["ok"].get<bool>());
  while (progress_lines() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto pause_requested = std::chrono::steady_clock::now();
  ASSERT_TRUE(request(socket_, {{"cmd", "pause"}})["ok"].get<bool>());
  EXPECT_TRUE(request(socket_, {{"cmd", "stats"}})["stats"]["paused"].get<bool>());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // output already in flight lands
  const std::size_t paused_at = progress_lines();
  const std::uint64_t ticks_at_pause = latest_ticks();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(progress_lines(), paused_at) << "the guest ran while paused";
  ASSERT_TRUE(request(socket_, {{"cmd", "resume"}})["ok"].get<bool>());
  for (int attempt = 0; attempt < 100 && progress_lines() <= paused_at + 2; ++attempt)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GT(progress_lines(), paused_at + 2) << "the guest did not go on after resume";
  // Time went on sanely: the PIT counted through the pause and reinjects the
  // ticks the guest missed, but never gives it more ticks than real time passed.
  const std::uint64_t ticks_after = latest_ticks();
  const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                             pause_requested).count();
  EXPECT_GT(ticks_after, ticks_at_pause);
  EXPECT_LE(ticks_after - ticks_at_pause, static_cast<std::uint64_t>(wall_ms) + 20)
      << "the guest got more timer ticks than milliseconds passed";
  EXPECT_TRUE(request(socket_, {{"cmd", "stop"}})["ok"].get<bool>());
  EXPECT_EQ(vm.get().exit_status, 0);
}

}  // namespace
}  // namespace vmm::testing
