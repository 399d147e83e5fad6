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

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one response line; empty on EOF.
std::string read_line(int fd, std::string& buffer) {
  while (buffer.find('\n') == std::string::npos) {
    char chunk[4096];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return "";
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  const auto end = buffer.find('\n');
  std::string line = buffer.substr(0, end);
  buffer.erase(0, end + 1);
  return line;
}

nlohmann::json request(const std::string& path, const nlohmann::json& body) {
  const int fd = connect_unix(path);
  if (fd < 0) return {{"ok", false}, {"error", "cannot connect"}};
  std::string buffer;
  send_all(fd, body.dump() + "\n");
  const std::string line = read_line(fd, buffer);
  ::close(fd);
  return line.empty() ? nlohmann::json{{"ok", false}, {"error", "no answer"}} : nlohmann::json::parse(line);
}

std::string write_config(const std::string& dir) {
  const std::string path = dir + "/control-test.json";
  std::ofstream(path) << R"({"cmdline": "tasks=2 runtime_ms=0 progress_ms=100", "timeout_ms": 120000,
    "irq": {"lines": [{"name": "nic", "gsi": 5}, {"name": "disk", "gsi": 17, "trigger": "level"},
                      {"name": "msi", "gsi": 24, "msi": {"apic_id": 0, "vector": 80}}]}})";
  return path;
}

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir();
    socket_ = dir_ + "/vmm-control-test.sock";
    serial_ = dir_ + "/vmm-control-test.serial";
  }
  std::future<VmmResult> start_vm() {
    const std::string config = write_config(dir_);
    return std::async(std::launch::async, [=, this] {
      return run_vmm({"run", config, "--control", socket_, "--serial", "file:" + serial_});
    });
  }
  std::size_t progress_lines() {
    std::ifstream file(serial_);
    std::stringstream text;
    text << file.rdbuf();
    return lines_with_tag(text.str(), "progress").size();
  }

  std::string dir_, socket_, serial_;
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

  // Every accepted request scheduled two injections; wait until all have fired.
  nlohmann::json stats;
  for (int attempt = 0; attempt < 100; ++attempt) {
    stats = request(socket_, {{"cmd", "stats"}})["stats"];
    std::uint64_t pending = 0;
    for (const auto& line : stats["lines"]) pending += line["pending"].get<std::uint64_t>();
    if (pending == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::uint64_t total = 0;
  for (const auto& line : stats["lines"]) total += line["injected"].get<std::uint64_t>();
  EXPECT_EQ(total, 2u * kClients * kRequestsPerClient) << stats.dump(2);

  const std::size_t before = progress_lines();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GT(progress_lines(), before) << "the guest stopped making progress";
  EXPECT_TRUE(request(socket_, {{"cmd", "stop"}})["ok"].get<bool>());
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, 0) << result.err;
}

TEST_F(ControlTest, PauseStopsTheGuestAndResumeLetsItGoOn) {
  REQUIRE_KVM();
  auto vm = start_vm();
  ASSERT_TRUE(request(socket_, {{"cmd", "stats"}})["ok"].get<bool>());
  while (progress_lines() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(request(socket_, {{"cmd", "pause"}})["ok"].get<bool>());
  EXPECT_TRUE(request(socket_, {{"cmd", "stats"}})["stats"]["paused"].get<bool>());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // output already in flight lands
  const std::size_t paused_at = progress_lines();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(progress_lines(), paused_at) << "the guest ran while paused";
  ASSERT_TRUE(request(socket_, {{"cmd", "resume"}})["ok"].get<bool>());
  for (int attempt = 0; attempt < 100 && progress_lines() <= paused_at + 2; ++attempt)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_GT(progress_lines(), paused_at + 2) << "the guest did not go on after resume";
  EXPECT_TRUE(request(socket_, {{"cmd", "stop"}})["ok"].get<bool>());
  EXPECT_EQ(vm.get().exit_status, 0);
}

}  // namespace
}  // namespace vmm::testing
