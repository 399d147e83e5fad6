// Bad input of every kind gets one line on stderr naming the problem and exit
// status 2: never a crash, never a hang.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <fstream>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

std::string write_temp(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << contents;
  return path;
}

void expect_input_error(const std::vector<std::string>& args, const std::string& message) {
  SCOPED_TRACE(::testing::PrintToString(args));
  VmmRun run;
  run.args = args;
  run.limit = std::chrono::milliseconds(20000);
  const auto result = run_vmm(run);
  EXPECT_FALSE(result.hung);
  EXPECT_EQ(result.exit_status, 2) << result.err;
  EXPECT_EQ(result.signal, 0);
  EXPECT_EQ(result.err.rfind("vmm: ", 0), 0u) << result.err;
  EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "not one line: " << result.err;
  EXPECT_EQ(result.out, "");
}

TEST(BadInput, ConfigProblemsNameTheFileAndJsonPath) {
  expect_input_error({"run", "/nonexistent/vm.json"}, "config /nonexistent/vm.json: No such file or directory");
  expect_input_error({"run", "/tmp"}, "config /tmp: not a regular file");
  const auto malformed = write_temp("malformed.json", "{\"vcpus\": 1,,}");
  expect_input_error({"run", malformed}, malformed + ": not valid JSON: ");
  const auto huge = write_temp("huge.json", "{\"vcpus\": 7e1204}");
  expect_input_error({"run", huge}, huge + ": not valid JSON: number overflow parsing '7e1204'");
  const auto unknown = write_temp("unknown.json", "{\"kernal\": \"x\"}");
  expect_input_error({"run", unknown}, unknown + ": /kernal: unknown key");
  const auto wrong_type = write_temp("wrong_type.json", "{\"serial\": {\"backend\": 3}}");
  expect_input_error({"run", wrong_type}, wrong_type + ": /serial/backend: expected a string, got a number");
  const auto bad_vcpus = write_temp("bad_vcpus.json", "{\"vcpus\": 0}");
  expect_input_error({"run", bad_vcpus}, bad_vcpus + ": /vcpus: must be between 1 and 64");
  const auto too_many_vcpus = write_temp("too_many_vcpus.json", "{\"vcpus\": 65}");
  expect_input_error({"run", too_many_vcpus}, too_many_vcpus + ": /vcpus: must be between 1 and 64, got 65");
}

TEST(BadInput, CommandLineProblems) {
  expect_input_error({"run", "--vcpus", "0"}, "--vcpus: must be between 1 and 64");
  expect_input_error({"run", "--vcpus", "65"}, "--vcpus: must be between 1 and 64, got 65");
  expect_input_error({"run", "--vcpus", "65", "--print-mptable"}, "--vcpus: must be between 1 and 64, got 65");
  expect_input_error({"run", "--vcpus", "many"}, "--vcpus");
  expect_input_error({"run", "--memory", "1"}, "--memory: must be between 2 and");
  expect_input_error({"run", "--memory", "lots"}, "--memory lots: expected a size");
  expect_input_error({"run", "--timeout", "-1"}, "--timeout -1: must be positive");
  expect_input_error({"run", "--frobnicate"}, "--frobnicate");
  expect_input_error({"fly"}, "fly");
}

TEST(BadInput, KernelProblems) {
  expect_input_error({"run", "--kernel", "/nonexistent/kernel.elf"}, "kernel /nonexistent/kernel.elf: No such file");
  const auto garbage = write_temp("garbage.bin", std::string(100000, '\x90'));
  expect_input_error({"run", "--kernel", garbage}, "not a Multiboot v1 image");
  expect_input_error({"run", "--initrd", "/nonexistent/initrd"}, "module /nonexistent/initrd: No such file");
}

// A Unix socket at `path`, listening when `listen_on` (else left stale by
// closing it); returns the fd (-1 once closed).
int make_socket(const std::string& path, bool listen_on) {
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ADD_FAILURE() << "bind " << path;
  if (listen_on) {
    ::listen(fd, 1);
    return fd;
  }
  ::close(fd);
  return -1;
}

// The control socket replaces only a stale socket of ours: not a file, not a
// socket a live process listens on, not another user's.
TEST(BadInput, ControlSocketPathsThatAreNotAStaleSocketOfOurs) {
  const std::string file = write_temp("control-is-a-file", "data");
  expect_input_error({"run", "--control", file}, "control socket " + file + ": exists and is not a socket");
  EXPECT_EQ(::access(file.c_str(), F_OK), 0) << "the file must be left alone";

  const std::string live = scratch_path("live.sock");
  const int listener = make_socket(live, true);
  expect_input_error({"run", "--control", live}, "control socket " + live + ": another process is listening on it");
  ::close(listener);

  if (::geteuid() == 0) {  // only root can give a socket to another user
    const std::string foreign = scratch_path("foreign.sock");
    make_socket(foreign, false);
    ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
    expect_input_error({"run", "--control", foreign},
                       "control socket " + foreign + ": a socket of another user (uid 65534)");
    ::unlink(foreign.c_str());
  }
}

// What an earlier run left behind is replaced, and the new socket is 0600
// from the start.
TEST(ControlSocket, AStaleSocketOfOursIsReplacedByAPrivateOne) {
  REQUIRE_KVM();
  const std::string stale = scratch_path("stale.sock");
  make_socket(stale, false);
  VmmRun run;
  run.args = {"run", "--vcpus", "1", "--control", stale, "--cmdline", "tasks=1 runtime_ms=300 progress_ms=50"};
  mode_t mode = 0;
  run.send_signal_when = [&](const std::string& out) {
    struct stat info{};
    if (out.find("progress") == std::string::npos || ::stat(stale.c_str(), &info) != 0) return false;
    mode = info.st_mode;
    return false;
  };
  const auto result = run_vmm(run);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_TRUE(S_ISSOCK(mode));
  EXPECT_EQ(mode & 0777, 0600u);
}

TEST(BadInput, MemoryTooSmallForTheKernel) {
  expect_input_error({"run", "--memory", "2"}, "outside guest RAM (2 MiB)");
}

}  // namespace
}  // namespace vmm::testing
