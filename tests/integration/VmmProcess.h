#pragma once
// Runs the built vmm binary as a user would and collects what it printed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vmm::testing {

struct VmmResult {
  int exit_status = -1;  // -1 if killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
  bool hung = false;  // the harness had to kill it
  // From the (first) signal the harness sent to vmm's exit; -1 if none was sent.
  std::chrono::microseconds signal_to_exit{-1};
  // vmm's peak resident set (VmHWM in /proc/PID/status, in KiB), sampled while it
  // was alive; 0 if it was never read. Not wait4's ru_maxrss: a forked child's
  // includes the pages it shared with the test before exec.
  std::uint64_t peak_rss_kib = 0;
  // The host CPU vmm spent, in user space and in the kernel (wait4's rusage).
  std::chrono::microseconds user_cpu{0};
  std::chrono::microseconds system_cpu{0};
};

struct VmmRun {
  std::vector<std::string> args;  // after "vmm"
  std::string working_directory;  // empty: inherit
  std::chrono::milliseconds limit{60000};
  // Called with the stdout seen so far; return true to send `signal_to_send` once.
  std::function<bool(const std::string&)> send_signal_when;
  int signal_to_send = 0;
  // A second signal this long after the first (0: none), as a user who presses
  // Ctrl-C twice.
  int second_signal = 0;
  std::chrono::milliseconds second_signal_after{0};
  std::string stdin_data;  // fed to vmm's stdin (then closed); /dev/null when empty
  // Called with the stdout seen so far whenever more comes; what it returns is
  // typed on vmm's stdin, which then stays open until vmm exits (a user at the
  // console who answers what the guest prints).
  std::function<std::string(const std::string&)> type_when;
};

VmmResult run_vmm(const VmmRun& run);
VmmResult run_vmm(std::vector<std::string> args, std::string working_directory = "");

// The exit status, signal, stdout and stderr of a run, for a failed assertion's message.
std::string describe(const VmmResult& result);

// The kind of build these tests run in: sanitizer builds use several times the
// memory of a plain one (shadow memory, quarantine), so memory bounds depend on it.
enum class BuildKind { Plain, AddressSanitizer, ThreadSanitizer };
BuildKind build_kind();

// VmHWM of process `pid` in KiB once it runs the program `name` (its comm);
// 0 before that, and when it cannot be read (the process is gone).
std::uint64_t peak_rss_kib(int pid, const std::string& name);

// Empty when /dev/kvm is usable; otherwise why not. With VMM_REQUIRE_KVM=1 in the
// environment, tests fail on that reason instead of skipping.
std::string kvm_unusable_reason();

// Connects to a Unix stream socket, retrying for up to 10 s while vmm creates
// it; -1 if it never comes.
int connect_unix(const std::string& path);

// A scratch path for the running test alone: ctest runs tests in parallel, and
// two tests of one suite must not share a socket or a config file.
std::string scratch_path(const std::string& name);

// True where the host CPU has hardware virtualization (VMX or SVM in
// /proc/cpuinfo). Elsewhere a usable /dev/kvm runs guest ring 0 in KVM's
// instruction emulator (nested kvm_pvm), and vmm's emulation fix-ups and
// SYSCALL completion are armed; here none of them may fire.
bool host_has_hardware_virtualization();

// True when `program` is on PATH.
bool have_program(const std::string& program);

std::vector<std::string> lines_with_tag(const std::string& output, const std::string& tag);
// The value of key=... in a "tag key=value ..." line; empty if absent.
std::string field(const std::string& line, const std::string& key);

}  // namespace vmm::testing

#define REQUIRE_KVM()                                                                             \
  do {                                                                                            \
    const std::string reason = ::vmm::testing::kvm_unusable_reason();                             \
    if (!reason.empty()) {                                                                        \
      const char* required = std::getenv("VMM_REQUIRE_KVM");                                      \
      if (required && std::string(required) == "1") FAIL() << "KVM required but " << reason;      \
      GTEST_SKIP() << "needs a usable /dev/kvm: " << reason;                                      \
    }                                                                                             \
  } while (0)
