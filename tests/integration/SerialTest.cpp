// Serial input reaches the guest with nothing lost, through stdin and through
// the socket backend, however fast it is sent: vmm only moves bytes into the
// UART while its receive FIFO has room. The guest (echo=N) counts and hashes
// what it received.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <future>
#include <random>
#include <thread>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

constexpr std::size_t kInputBytes = 100 * 1024;

std::string random_bytes(std::size_t size) {
  std::mt19937 generator(42);
  std::string data(size, '\0');
  for (auto& byte : data) byte = static_cast<char>(generator() & 0xff);
  return data;
}

std::string fnv1a(const std::string& data) {
  std::uint32_t hash = 0x811c9dc5;
  for (unsigned char byte : data) {
    hash ^= byte;
    hash *= 16777619u;
  }
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", hash);
  return text;
}

void expect_echo(const std::string& output, const std::string& sent) {
  const auto lines = lines_with_tag(output, "echo");
  ASSERT_FALSE(lines.empty()) << output;
  const std::string& last = lines.back();
  EXPECT_EQ(field(last, "bytes"), std::to_string(sent.size())) << last;
  EXPECT_EQ(field(last, "fnv1a"), fnv1a(sent)) << last;
  EXPECT_EQ(field(last, "overruns"), "0") << last;
}

TEST(Serial, HundredKibThroughStdinArriveIntact) {
  REQUIRE_KVM();
  VmmRun run;
  run.args = {"run", "--cmdline", "echo=" + std::to_string(kInputBytes), "--timeout", "120s"};
  run.stdin_data = random_bytes(kInputBytes);
  run.limit = std::chrono::seconds(150);
  const auto result = run_vmm(run);
  ASSERT_EQ(result.exit_status, 0) << result.err << result.out.substr(0, 2000);
  expect_echo(result.out, run.stdin_data);
}

std::string read_until(int fd, const std::string& marker, std::string& seen) {
  char buffer[4096];
  while (seen.find(marker) == std::string::npos) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    seen.append(buffer, static_cast<std::size_t>(n));
  }
  return seen;
}

TEST(Serial, SocketBackendTakesAClientThatLeavesAndComesBack) {
  REQUIRE_KVM();
  const std::string path = scratch_path("sock");
  const std::string data = random_bytes(kInputBytes);
  auto vmm = std::async(std::launch::async, [&] {
    return run_vmm({"run", "--serial", "socket:" + path, "--cmdline", "echo=" + std::to_string(kInputBytes),
                    "--timeout", "120s"});
  });

  // A first client sees the guest come up, then leaves.
  int client = connect_unix(path);
  ASSERT_GE(client, 0) << "cannot connect to " << path;
  std::string first;
  read_until(client, "echo ready", first);
  EXPECT_NE(first.find("boot "), std::string::npos) << first;
  ::close(client);

  // A second one sends the input and reads the verdict.
  client = connect_unix(path);
  ASSERT_GE(client, 0);
  std::thread sender([&] {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::write(client, data.data() + sent, data.size() - sent);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
  });
  std::string second;
  read_until(client, "exit code=", second);
  sender.join();
  ::close(client);
  const auto result = vmm.get();
  ASSERT_EQ(result.exit_status, 0) << result.err;
  expect_echo(second, data);
}

TEST(Serial, CtrlAxQuitsFromATerminal) {
  REQUIRE_KVM();
  ASSERT_TRUE(have_program("script")) << "script(1) from bsdutils runs vmm on a pseudo-terminal";
  // script(1) gives vmm a terminal (raw mode, escapes on); the keys arrive after boot.
  const std::string command = "(sleep 2; printf '\\001x') | script -qfec \"" + std::string(VMM_BINARY) +
                              " run --cmdline 'tasks=1 runtime_ms=0' --timeout 30s\" /dev/null 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find("quit from the console (Ctrl-A x)"), std::string::npos) << output;
  EXPECT_NE(output.find("boot kernel=vmm-guest"), std::string::npos) << output;
}

}  // namespace
}  // namespace vmm::testing
