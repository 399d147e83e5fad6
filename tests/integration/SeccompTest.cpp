// Every thread of a running vmm is under its seccomp filter (Seccomp: 2 in
// /proc/PID/task/TID/status), and none with --no-seccomp. What the filters
// refuse is tested in tests/unit/SeccompTest.cpp; that the allow-lists let vmm
// do its work is shown by every other integration test, which runs with them.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

// The vmm process at the other end of its control socket.
pid_t vmm_pid(const std::string& socket_path) {
  const int fd = connect_unix(socket_path);
  if (fd < 0) return -1;
  ucred peer{};
  socklen_t length = sizeof peer;
  const int result = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length);
  ::close(fd);
  return result == 0 ? peer.pid : -1;
}

// Thread name -> the Seccomp: field of its status, for every thread of `pid`.
std::multimap<std::string, std::string> seccomp_modes(pid_t pid) {
  std::multimap<std::string, std::string> modes;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string name, line, mode;
    std::getline(std::ifstream(task.path() / "comm"), name);
    std::ifstream status(task.path() / "status");
    while (std::getline(status, line))
      if (line.rfind("Seccomp:", 0) == 0) mode = line.substr(line.find_first_not_of(" \t", 8));
    modes.emplace(name, mode);
  }
  return modes;
}

std::multimap<std::string, std::string> modes_of_a_running_vm(const std::vector<std::string>& extra) {
  const std::string socket = scratch_path("control.sock");
  VmmRun run;
  run.args = {"run", "--vcpus", "2", "--timeout", "60s", "--control", socket};
  run.args.insert(run.args.end(), extra.begin(), extra.end());
  auto vm = std::async(std::launch::async, [run] { return run_vmm(run); });
  // Wait for the guest's scheduler, so every thread has passed its set-up.
  std::multimap<std::string, std::string> modes;
  for (int attempt = 0; attempt < 600; ++attempt) {
    const auto answer = request(socket, {{"cmd", "stats"}});
    if (answer.value("ok", false) && answer["stats"]["exits"].value("io", 0) > 100) {
      if (const pid_t pid = vmm_pid(socket); pid > 0) modes = seccomp_modes(pid);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  request(socket, {{"cmd", "stop"}});
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  return modes;
}

TEST(Seccomp, EveryThreadIsFiltered) {
  REQUIRE_KVM();
  auto modes = modes_of_a_running_vm({});
  if (build_kind() == BuildKind::ThreadSanitizer) {
    // TSan's background thread (also named "vmm") starts before main(), so
    // before any filter: the one unfiltered thread, in that build only.
    auto unfiltered = std::find_if(modes.begin(), modes.end(),
                                   [](const auto& each) { return each.first == "vmm" && each.second == "0"; });
    ASSERT_NE(unfiltered, modes.end());
    modes.erase(unfiltered);
  }
  for (const char* thread : {"vmm", "serial-out", "vcpu0", "vcpu1"}) EXPECT_EQ(modes.count(thread), 1u) << thread;
  for (const auto& [thread, mode] : modes) EXPECT_EQ(mode, "2") << "thread " << thread;
}

TEST(Seccomp, NoSeccompLeavesEveryThreadUnfiltered) {
  REQUIRE_KVM();
  const auto modes = modes_of_a_running_vm({"--no-seccomp"});
  EXPECT_EQ(modes.count("vcpu1"), 1u);
  for (const auto& [thread, mode] : modes) EXPECT_EQ(mode, "0") << "thread " << thread;
}

}  // namespace
}  // namespace vmm::testing
