// Static musl programs (examples/programs/, tests/guests/programs/) run by the
// bundled kernel from a newc cpio as pid 1, the way a user runs them:
//
//   vmm run --initrd progs.cpio --cmdline "quiet init=/bin/prog args"
//
// Each program runs on the host first (being static, the same binary runs
// there as it is); under vmm, on 1 and on 2 vCPUs, it must print the same
// lines and vmm must end with the status the program ended with on the host.
// Before comparing, pids (pid=N, ppid=N, tid=N) and times (key_ns=N, key_ms=N,
// ...) are masked, and the kernel's own "proc ..." lines are set aside (under
// `quiet` the kernel prints nothing else, bar lines that start with error,
// warn or exception, which would show up as differences). Lines that start
// with "this is process N " are compared per process: how concurrent
// processes interleave is the scheduler's choice, each one's order is not.
//
// The other tests: misbehaving programs are killed alone and the run still
// ends with init's status; irqwait counts the interrupts vmm fires on its
// line, from a config's timeline and one by one from the control socket.
//
// Guest kernel code may run in KVM's instruction emulator (about 300 ns an
// instruction, a fork in tens of milliseconds): limits are generous and no
// check depends on guest speed.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

// vmm's own limit, then the harness's a little later, both under ctest's 300 s.
constexpr const char* kVmmTimeout = "240s";
constexpr std::chrono::seconds kHarnessLimit{270};

#define REQUIRE_GUEST_PROGRAMS()                                                           \
  do {                                                                                     \
    if (std::string(VMM_GUEST_PROGRAMS_MISSING) != "")                                     \
      GTEST_SKIP() << "the guest programs were not built: " << VMM_GUEST_PROGRAMS_MISSING; \
  } while (0)

std::string example_binary(const std::string& name) { return std::string(VMM_EXAMPLE_PROGRAMS) + "/bin/" + name; }
std::string test_binary(const std::string& name) { return std::string(VMM_TEST_PROGRAMS) + "/bin/" + name; }

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// What differs from run to run by nature: pids and times.
std::string mask(const std::string& line) {
  static const std::regex pids(R"(\b(pid|ppid|tid)=-?[0-9]+)");
  static const std::regex times(R"(\b([A-Za-z_]+_(ns|us|ms|s))=[0-9]+)");
  return std::regex_replace(std::regex_replace(line, pids, "$1=N"), times, "$1=T");
}

// A program's lines, masked, without the kernel's "proc ..." lines (those go
// to `kernel_lines` when given).
std::vector<std::string> program_lines(const std::string& output, std::vector<std::string>* kernel_lines = nullptr) {
  std::vector<std::string> lines;
  for (const auto& line : split_lines(output)) {
    if (line.rfind("proc ", 0) == 0) {
      if (kernel_lines) kernel_lines->push_back(line);
      continue;
    }
    lines.push_back(mask(line));
  }
  return lines;
}

// The lines by stream: "this is process N" for each of my_process's children,
// "" for everything else.
std::map<std::string, std::vector<std::string>> streams(const std::vector<std::string>& lines) {
  static const std::regex process(R"(^(this is process [0-9]+) )");
  std::map<std::string, std::vector<std::string>> by_stream;
  for (const auto& line : lines) {
    std::smatch match;
    by_stream[std::regex_search(line, match, process) ? match[1].str() : ""].push_back(line);
  }
  return by_stream;
}

void expect_same_lines(const std::vector<std::string>& expected, const std::vector<std::string>& actual,
                       const std::string& what) {
  EXPECT_TRUE(streams(expected) == streams(actual)) << what << "\n--- expected ---\n"
                                                    << join(expected) << "--- got ---\n"
                                                    << join(actual);
}

std::vector<std::string> read_expected(const std::string& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file) << "cannot read " << path;
  std::stringstream text;
  text << file.rdbuf();
  return split_lines(text.str());
}

struct HostResult {
  int exit_status = -1;  // -1 if killed by a signal
  int signal = 0;
  std::string out;  // stdout and stderr, as on the guest's console
  bool hung = false;
};

// Runs `binary` on the host, stdout and stderr into one pipe as on a console,
// without core dumps (forkexec's child dies of SIGSEGV on purpose).
HostResult run_on_host(const std::string& binary, const std::vector<std::string>& args) {
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(out_pipe[1], STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    std::vector<std::string> strings{binary};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  HostResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline && !result.hung) {
      result.hung = true;
      ::kill(-pid, SIGKILL);
    }
    pollfd fd{out_pipe[0], POLLIN, 0};
    ::poll(&fd, 1, 100);
    if (!(fd.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buffer[4096];
    const ssize_t n = ::read(out_pipe[0], buffer, sizeof buffer);
    if (n > 0)
      result.out.append(buffer, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR)
      break;
  }
  ::close(out_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

// `vmm run --initrd CPIO --cmdline "quiet init=/bin/NAME ARGS" --vcpus N`: the
// bundled kernel with the default config, as a user runs it.
VmmResult run_in_guest(const std::string& cpio, const std::string& name, const std::vector<std::string>& args,
                       unsigned vcpus) {
  std::string cmdline = "quiet init=/bin/" + name;
  for (const auto& arg : args) cmdline += " " + arg;
  VmmRun run;
  run.args = {"run",       "--initrd", cpio, "--cmdline", cmdline, "--vcpus", std::to_string(vcpus),
              "--timeout", kVmmTimeout};
  run.limit = kHarnessLimit;
  return run_vmm(run);
}

void print_elapsed(const std::string& what, const VmmResult& result) {
  std::fprintf(stderr, "%s: %lld ms under vmm\n", what.c_str(), static_cast<long long>(result.elapsed.count()));
}

struct Program {
  std::string name;
  bool example;  // examples/programs/, else tests/guests/programs/
  std::vector<std::string> args;
};

struct ProgramRun {
  Program program;
  unsigned vcpus;
};

// For gtest's test list: the program and the vCPUs, not the struct's bytes.
void PrintTo(const ProgramRun& run, std::ostream* os) { *os << run.program.name << " on " << run.vcpus << " vCPUs"; }

class SameAsOnTheHost : public ::testing::TestWithParam<ProgramRun> {};

TEST_P(SameAsOnTheHost, LinesAndExitStatus) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const auto& [program, vcpus] = GetParam();
  const std::string binary = program.example ? example_binary(program.name) : test_binary(program.name);
  const std::string expected_file = std::string(VMM_SOURCE_DIR) +
                                    (program.example ? "/examples/programs/" : "/tests/guests/programs/") +
                                    program.name + ".expected";

  const HostResult host = run_on_host(binary, program.args);
  ASSERT_FALSE(host.hung) << program.name << " hung on the host:\n" << host.out;
  ASSERT_EQ(host.signal, 0) << program.name << " died of signal " << host.signal << " on the host:\n" << host.out;
  const auto host_lines = program_lines(host.out);
  expect_same_lines(read_expected(expected_file), host_lines, "on the host, against " + expected_file);

  const VmmResult guest = run_in_guest(program.example ? VMM_EXAMPLE_PROGRAMS_CPIO : VMM_TEST_PROGRAMS_CPIO,
                                       program.name, program.args, vcpus);
  print_elapsed(program.name + " on " + std::to_string(vcpus) + " vCPUs", guest);
  ASSERT_FALSE(guest.hung) << describe(guest);
  std::vector<std::string> kernel_lines;
  const auto guest_lines = program_lines(guest.out, &kernel_lines);
  expect_same_lines(host_lines, guest_lines, "under vmm, against the host");
  EXPECT_EQ(guest.exit_status, host.exit_status) << describe(guest);

  if (program.name == "forkexec") {
    // The child that wrote through NULL, in the kernel's words.
    std::size_t segv = 0;
    for (const auto& line : kernel_lines)
      if (line.find(" killed ") != std::string::npos && field(line, "signal") == "SIGSEGV") {
        ++segv;
        EXPECT_EQ(field(line, "addr"), "0x0") << line;
      }
    EXPECT_EQ(segv, 1u) << describe(guest);
  }
}

std::vector<ProgramRun> program_runs() {
  std::vector<ProgramRun> runs;
  for (const Program& program :
       {Program{"my_process", true, {}}, Program{"forkexec", true, {}}, Program{"abi", false, {}}})
    for (unsigned vcpus : {1u, 2u}) runs.push_back({program, vcpus});
  return runs;
}

INSTANTIATE_TEST_SUITE_P(Programs, SameAsOnTheHost, ::testing::ValuesIn(program_runs()), [](const auto& info) {
  return info.param.program.name + "_" + std::to_string(info.param.vcpus) + "vcpu";
});

// How a line of hostile.c's report reads, in the order it prints them.
std::size_t expect_line_after(const std::vector<std::string>& lines, const std::string& line, std::size_t from,
                              const VmmResult& result) {
  for (std::size_t i = from; i < lines.size(); ++i)
    if (lines[i] == line) return i + 1;
  ADD_FAILURE() << "no line \"" << line << "\" (in order)\n" << describe(result);
  return from;
}

class MisbehavingPrograms : public ::testing::TestWithParam<unsigned> {};

// tests/guests/programs/hostile.c as init: segv and ud are killed with the
// right signal (the kernel's "proc" line and the parent's WTERMSIG agree),
// the fork bomb meets EAGAIN once and reaps every child, an endless loop does
// not stop init, and the run ends with init's status 0, the loop still there.
TEST_P(MisbehavingPrograms, AreKilledAloneAndInitsStatusEndsTheRun) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const unsigned vcpus = GetParam();
  const VmmResult result = run_in_guest(VMM_TEST_PROGRAMS_CPIO, "hostile", {}, vcpus);
  print_elapsed("hostile on " + std::to_string(vcpus) + " vCPUs", result);
  ASSERT_FALSE(result.hung) << describe(result);
  EXPECT_EQ(result.exit_status, 0) << describe(result);

  std::vector<std::string> kernel_lines;
  const auto lines = program_lines(result.out, &kernel_lines);
  std::map<std::string, std::vector<std::string>> killed;  // by signal
  for (const auto& line : kernel_lines)
    if (line.find(" killed ") != std::string::npos) killed[field(line, "signal")].push_back(line);
  ASSERT_EQ(killed["SIGSEGV"].size(), 1u) << describe(result);
  EXPECT_EQ(field(killed["SIGSEGV"][0], "addr"), "0x10") << killed["SIGSEGV"][0];
  EXPECT_EQ(killed["SIGILL"].size(), 1u) << describe(result);
  EXPECT_EQ(killed.size(), 2u) << "only segv and ud are killed\n" << describe(result);

  std::size_t at = 0;
  at = expect_line_after(lines, "hostile: segv killed by signal 11 (SIGSEGV)", at, result);
  at = expect_line_after(lines, "hostile: ud killed by signal 4 (SIGILL)", at, result);
  at = expect_line_after(lines, "forkbomb: fork failed errno=EAGAIN", at, result);
  at = expect_line_after(lines, "hostile: forkbomb exited with status 0", at, result);
  at = expect_line_after(lines, "hostile: spin still running", at, result);
  expect_line_after(lines, "hostile: done", at, result);

  std::size_t failures = 0;
  std::string counts;
  for (const auto& line : lines) {
    if (line.rfind("forkbomb: fork failed", 0) == 0) ++failures;
    if (line.rfind("forkbomb: forked=", 0) == 0) counts = line;
  }
  EXPECT_EQ(failures, 1u) << describe(result);
  ASSERT_FALSE(counts.empty()) << describe(result);
  const std::string forked = field(counts, "forked"), reaped = field(counts, "reaped");
  EXPECT_EQ(forked, reaped) << counts;
  EXPECT_GT(std::stoul(forked.empty() ? "0" : forked), 0u) << counts;
  std::fprintf(stderr, "hostile on %u vCPUs: %s\n", vcpus, counts.c_str());
}

INSTANTIATE_TEST_SUITE_P(Programs, MisbehavingPrograms, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "vcpu"; });

class Irqwait : public ::testing::TestWithParam<unsigned> {};

// examples/programs/irqwait.json: its scenario fires GSI 5 once each time
// irqwait has printed the last count, so every read returns one more and the
// output is exactly irqwait.expected, however fast or slow the guest.
TEST_P(Irqwait, CountsTheScenariosInterrupts) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const unsigned vcpus = GetParam();
  VmmRun run;
  run.args = {"run",       std::string(VMM_SOURCE_DIR) + "/examples/programs/irqwait.json",
              "--initrd",  VMM_EXAMPLE_PROGRAMS_CPIO,
              "--vcpus",   std::to_string(vcpus),
              "--timeout", kVmmTimeout};
  run.limit = kHarnessLimit;
  const VmmResult result = run_vmm(run);
  print_elapsed("irqwait.json on " + std::to_string(vcpus) + " vCPUs", result);
  ASSERT_FALSE(result.hung) << describe(result);
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  expect_same_lines(read_expected(std::string(VMM_SOURCE_DIR) + "/examples/programs/irqwait.expected"),
                    program_lines(result.out), "irqwait.json's scenario");
}

INSTANTIATE_TEST_SUITE_P(Programs, Irqwait, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "vcpu"; });

// The same line fired from the control socket instead of the config's
// scenario, one interrupt each time irqwait has printed the last count.
TEST(Programs, IrqwaitWakesOncePerInjectionThroughTheSocket) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const std::string config_path = scratch_path("irqwait.json");
  const std::string socket = scratch_path("control");
  {
    std::ifstream in(std::string(VMM_SOURCE_DIR) + "/examples/programs/irqwait.json");
    auto config = nlohmann::json::parse(in);
    config.erase("scenario");
    config["control"] = socket;
    std::ofstream(config_path) << config.dump(2);
  }
  VmmRun run;
  run.args = {"run", config_path, "--initrd", VMM_EXAMPLE_PROGRAMS_CPIO, "--timeout", kVmmTimeout};
  run.limit = kHarnessLimit;
  unsigned injected = 0;
  std::string socket_error;
  run.type_when = [&](const std::string& out) -> std::string {
    if (injected >= 4) return "";
    const std::string awaited = injected == 0 ? "irqwait: waiting for 4 interrupts on /dev/irq/5"
                                              : "irqwait: gsi 5 count " + std::to_string(injected);
    const auto lines = split_lines(out);
    if (std::find(lines.begin(), lines.end(), awaited) == lines.end()) return "";
    const auto reply = request(socket, {{"cmd", "inject"}, {"line", "nic"}, {"count", 1}});
    if (!reply.value("ok", false)) socket_error = reply.dump();
    ++injected;
    return "";
  };
  const VmmResult result = run_vmm(run);
  print_elapsed("irqwait from the control socket", result);
  EXPECT_TRUE(socket_error.empty()) << socket_error;
  EXPECT_EQ(injected, 4u) << describe(result);
  ASSERT_FALSE(result.hung) << describe(result);
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  expect_same_lines(read_expected(std::string(VMM_SOURCE_DIR) + "/examples/programs/irqwait.expected"),
                    program_lines(result.out), "irqwait, one injection per count");
}

// --trace: the processes' own events, fork, execve, exit and wait4, each with
// the pids it names, in the order forkexec makes them.
TEST(Programs, TraceShowsForkExecveExitAndWait) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const std::string path = scratch_path("programs-trace.json");
  VmmRun run;
  run.args = {"run", "--initrd", VMM_EXAMPLE_PROGRAMS_CPIO, "--cmdline", "quiet init=/bin/forkexec", "--vcpus", "1",
              "--trace", path, "--timeout", kVmmTimeout};
  run.limit = kHarnessLimit;
  const VmmResult result = run_vmm(run);
  ASSERT_FALSE(result.hung) << describe(result);
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  const auto trace = nlohmann::json::parse(text.str(), nullptr, false);
  ASSERT_FALSE(trace.is_discarded()) << "the trace is not JSON";
  std::map<std::string, std::vector<nlohmann::json>> by_name;
  for (const auto& event : trace["traceEvents"])
    if (event.value("cat", "") == "process") by_name[event["name"]].push_back(event["args"]);
  // init's own start, then forkexec's children (each is forked, most exec).
  ASSERT_GE(by_name["fork"].size(), 3u) << describe(result);
  EXPECT_EQ(by_name["fork"][0]["parent"], 0) << "init is created by the kernel";
  EXPECT_EQ(by_name["fork"][0]["child"], 1);
  EXPECT_EQ(by_name["fork"][1]["parent"], 1) << "forkexec's first child";
  EXPECT_GE(by_name["execve"].size(), 2u) << "init's image and a child's";
  EXPECT_EQ(by_name["execve"][0]["pid"], 1);
  // Every child forked is reaped, and every process exits (init last).
  EXPECT_EQ(by_name["wait4"].size(), by_name["fork"].size() - 1);
  EXPECT_EQ(by_name["exit"].size(), by_name["fork"].size());
  ASSERT_FALSE(by_name["exit"].empty());
  EXPECT_EQ(by_name["exit"].back()["pid"], 1);
  bool killed_child_seen = false;
  for (const auto& wait : by_name["wait4"]) killed_child_seen = killed_child_seen || wait["status"] == 11;
  EXPECT_TRUE(killed_child_seen) << "forkexec's child that dereferences NULL: wait status SIGSEGV (11)";
}

// What a user gets wrong first: no initrd, an archive that is not newc, an
// init the archive does not hold or that is no program. Each is one error
// line that says which, and exit status 4 (an unusable boot environment).
TEST(Programs, BadInitrdsAndInitsAreNamedInOneErrorLine) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const std::string not_cpio = scratch_path("not-a-cpio");
  std::ofstream(not_cpio) << "this is not a cpio archive, not even its header\n";
  const struct {
    std::vector<std::string> args;
    std::string error;
  } cases[] = {
      {{"--cmdline", "quiet init=/bin/forkexec"}, "error init=/bin/forkexec reason=no_initrd"},
      {{"--initrd", not_cpio, "--cmdline", "quiet init=/bin/forkexec"}, "error initrd=cpio offset=0 reason=not_newc"},
      {{"--initrd", VMM_EXAMPLE_PROGRAMS_CPIO, "--cmdline", "quiet init=/bin/nothing here"},
       "error init=exec path=/bin/nothing errno=ENOENT reason=not_in_initrd"},
      {{"--initrd", VMM_EXAMPLE_PROGRAMS_CPIO, "--cmdline", "quiet init=/bin"},
       "error init=exec path=/bin errno=EACCES reason=not_a_regular_file"},
  };
  for (const auto& c : cases) {
    VmmRun run;
    run.args = {"run", "--timeout", kVmmTimeout};
    run.args.insert(run.args.end(), c.args.begin(), c.args.end());
    run.limit = kHarnessLimit;
    const VmmResult result = run_vmm(run);
    ASSERT_FALSE(result.hung) << describe(result);
    EXPECT_EQ(result.exit_status, 4) << describe(result);
    EXPECT_NE(result.out.find(c.error + "\n"), std::string::npos) << "expected: " << c.error << "\n" << describe(result);
  }
}

}  // namespace
}  // namespace vmm::testing
