#include "VmmProcess.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace vmm::testing {

namespace {

void drain(int& fd, std::string& into) {
  char buffer[65536];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n > 0) {
    into.append(buffer, static_cast<std::size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    ::close(fd);
    fd = -1;
  }
}

}  // namespace

VmmResult run_vmm(const VmmRun& run) {
  ::signal(SIGPIPE, SIG_IGN);  // vmm may exit before taking all of stdin
  int out_pipe[2], err_pipe[2], in_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) < 0 || ::pipe2(err_pipe, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
  const bool interactive = static_cast<bool>(run.type_when);
  if ((!run.stdin_data.empty() || interactive) && ::pipe2(in_pipe, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    const int input = in_pipe[0] >= 0 ? in_pipe[0] : ::open("/dev/null", O_RDONLY);
    ::dup2(input, STDIN_FILENO);
    if (!run.working_directory.empty() && ::chdir(run.working_directory.c_str()) < 0) ::_exit(126);
    std::vector<char*> argv;
    std::string binary = VMM_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> args = run.args;
    // VMM_TEST_GUEST_SCHED=o1 runs a test's bundled kernel under that
    // scheduler (CMake runs the SMP tests so too): first on its command
    // line, so that an init='s arguments stay last.
    if (const char* sched = std::getenv("VMM_TEST_GUEST_SCHED"); sched && *sched)
      for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--cmdline") args[i + 1] = std::string("sched=") + sched + " " + args[i + 1];
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  int in_fd = in_pipe[1];
  std::string to_type = run.stdin_data;
  if (in_fd >= 0) {
    ::close(in_pipe[0]);
    ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  VmmResult result;
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  bool signalled = false, signalled_twice = false;
  std::chrono::steady_clock::time_point signalled_at;
  while (out_fd >= 0 || err_fd >= 0) {
    if (in_fd >= 0) {  // feed stdin as fast as vmm takes it, without blocking
      const ssize_t n = to_type.empty() ? 0 : ::write(in_fd, to_type.data(), to_type.size());
      if (n > 0) to_type.erase(0, static_cast<std::size_t>(n));
      if ((to_type.empty() && !interactive) || (n < 0 && errno != EAGAIN)) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed > run.limit && !result.hung) {
      result.hung = true;
      ::kill(pid, SIGKILL);
    }
    // VmHWM is a high-water mark, so sampling at every wake-up of this loop (at
    // least every 100 ms) misses only growth in vmm's last moments.
    result.peak_rss_kib = std::max(result.peak_rss_kib, peak_rss_kib(pid, "vmm"));
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    const bool second_due = signalled && !signalled_twice && run.second_signal;
    ::poll(fds, 2, (in_fd >= 0 && !to_type.empty()) || second_due ? 1 : 100);
    const std::size_t seen = result.out.size();
    if (out_fd >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) drain(out_fd, result.out);
    if (interactive && in_fd >= 0 && result.out.size() != seen) to_type += run.type_when(result.out);
    if (err_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) drain(err_fd, result.err);
    if (!signalled && run.send_signal_when && run.send_signal_when(result.out)) {
      signalled = true;
      signalled_at = std::chrono::steady_clock::now();
      ::kill(pid, run.signal_to_send);
    }
    if (signalled && !signalled_twice && run.second_signal &&
        std::chrono::steady_clock::now() - signalled_at >= run.second_signal_after) {
      signalled_twice = true;
      ::kill(pid, run.second_signal);
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  auto microseconds = [](const timeval& time) {
    return std::chrono::microseconds(static_cast<std::int64_t>(time.tv_sec) * 1'000'000 + time.tv_usec);
  };
  result.user_cpu = microseconds(usage.ru_utime);
  result.system_cpu = microseconds(usage.ru_stime);
  if (signalled)
    result.signal_to_exit =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - signalled_at);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

VmmResult run_vmm(std::vector<std::string> args, std::string working_directory) {
  VmmRun run;
  run.args = std::move(args);
  run.working_directory = std::move(working_directory);
  return run_vmm(run);
}

std::string describe(const VmmResult& result) {
  return "exit " + std::to_string(result.exit_status) + " signal " + std::to_string(result.signal) +
         "\n--- stdout ---\n" + result.out + "\n--- stderr ---\n" + result.err;
}

BuildKind build_kind() {
#if defined(__SANITIZE_ADDRESS__)
  return BuildKind::AddressSanitizer;
#elif defined(__SANITIZE_THREAD__)
  return BuildKind::ThreadSanitizer;
#else
  return BuildKind::Plain;
#endif
}

std::uint64_t peak_rss_kib(int pid, const std::string& name) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    // Between fork and exec the child is still a copy of the test, with its pages.
    if (line.rfind("Name:", 0) == 0 && line.substr(line.find_first_not_of(" \t", 5)) != name) return 0;
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

std::string kvm_unusable_reason() {
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::string("cannot open /dev/kvm: ") + std::strerror(errno);
  const int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  const int vm = ::ioctl(fd, KVM_CREATE_VM, 0);
  std::string reason;
  if (version != KVM_API_VERSION)
    reason = "KVM API version " + std::to_string(version);
  else if (vm < 0)
    reason = std::string("KVM_CREATE_VM: ") + std::strerror(errno);
  if (vm >= 0) ::close(vm);
  ::close(fd);
  return reason;
}

int connect_unix(const std::string& path) {
  for (int attempt = 0; attempt < 400; ++attempt) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return -1;
}

bool have_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream folders(path ? path : "");
  for (std::string folder; std::getline(folders, folder, ':');)
    if (::access((folder + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

std::vector<std::string> lines_with_tag(const std::string& output, const std::string& tag) {
  std::vector<std::string> lines;
  std::istringstream stream(output);
  for (std::string line; std::getline(stream, line);)
    if (line.rfind(tag + " ", 0) == 0) lines.push_back(line);
  return lines;
}

std::string field(const std::string& line, const std::string& key) {
  const std::string needle = " " + key + "=";
  const auto pos = line.find(needle);
  if (pos == std::string::npos) return "";
  const auto start = pos + needle.size();
  return line.substr(start, line.find(' ', start) - start);
}

std::string scratch_path(const std::string& name) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string prefix = test ? std::string(test->test_suite_name()) + "." + test->name() : "vmm";
  for (char& c : prefix)
    if (c == '/') c = '_';  // parameterised names
  return ::testing::TempDir() + prefix + "." + name;
}

bool host_has_hardware_virtualization() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0)
      return line.find(" vmx") != std::string::npos || line.find(" svm") != std::string::npos;
  return false;
}

}  // namespace vmm::testing
