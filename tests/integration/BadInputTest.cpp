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

// Malformed configs, each with the exact line vmm prints for it (CONFIG stands
// for the file's path) and status 2, before anything touches /dev/kvm.
struct BadConfig {
  const char* name;
  const char* json;
  const char* message;
};

const BadConfig kBadConfigs[] = {
      {"empty", "",
       "CONFIG: not valid JSON: parse error at line 1, column 1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal"},
      {"not_object", "[]",
       "CONFIG: /: expected an object, got an array"},
      {"string", "\"vm\"",
       "CONFIG: /: expected an object, got a string"},
      {"trailing_comma", "{\"vcpus\": 1,}",
       "CONFIG: not valid JSON: parse error at line 1, column 13: syntax error while parsing object key - unexpected '}'; expected string literal"},
      {"unknown_key", "{\"kernal\": \"x\"}",
       "CONFIG: /kernal: unknown key (known keys: acpi cmdline control cpuid gdb initrd inject irq kernel memory_mib modules pit scenario seccomp serial timeout_ms trace vcpus)"},
      {"memory_string", "{\"memory_mib\": \"lots\"}",
       "CONFIG: /memory_mib: expected a non-negative integer, got a string"},
      {"memory_zero", "{\"memory_mib\": 0}",
       "CONFIG: /memory_mib: must be between 2 and 1048576 MiB, got 0"},
      {"memory_negative", "{\"memory_mib\": -5}",
       "CONFIG: /memory_mib: must not be negative"},
      {"memory_huge", "{\"memory_mib\": 99999999999}",
       "CONFIG: /memory_mib: must be between 2 and 1048576 MiB, got 99999999999"},
      {"memory_float", "{\"memory_mib\": 1.5}",
       "CONFIG: /memory_mib: expected a non-negative integer, got a fractional number"},
      {"vcpus_zero", "{\"vcpus\": 0}",
       "CONFIG: /vcpus: must be between 1 and 64, got 0"},
      {"vcpus_65", "{\"vcpus\": 65}",
       "CONFIG: /vcpus: must be between 1 and 64, got 65"},
      {"vcpus_bool", "{\"vcpus\": true}",
       "CONFIG: /vcpus: expected a non-negative integer, got a boolean"},
      {"timeout_negative", "{\"timeout_ms\": -1}",
       "CONFIG: /timeout_ms: must not be negative"},
      {"cmdline_number", "{\"cmdline\": 5}",
       "CONFIG: /cmdline: expected a string, got a number"},
      {"kernel_missing", "{\"kernel\": \"/nonexistent/k.elf\"}",
       "kernel /nonexistent/k.elf: No such file or directory"},
      {"kernel_dir", "{\"kernel\": \"/tmp\"}",
       "kernel /tmp: not a regular file"},
      {"modules_not_array", "{\"modules\": \"m\"}",
       "CONFIG: /modules: expected an array, got a string"},
      {"module_missing", "{\"modules\": [\"/nonexistent/m\"]}",
       "module /nonexistent/m: No such file or directory"},
      {"module_bad_key", "{\"modules\": [{\"path\": \"/etc/hostname\", \"cmd\": \"x\"}]}",
       "CONFIG: /modules/0/cmd: unknown key (known keys: cmdline path)"},
      {"serial_backend", "{\"serial\": {\"backend\": \"printer\"}}",
       "CONFIG: /serial/backend: unknown backend \"printer\" (known: stdio, file, socket)"},
      {"serial_file_no_path", "{\"serial\": {\"backend\": \"file\"}}",
       "CONFIG: /serial/path: the file backend needs a path"},
      {"serial_not_object", "{\"serial\": \"stdio\"}",
       "CONFIG: /serial: expected an object, got a string"},
      {"pit_backend", "{\"pit\": {\"backend\": \"hpet\"}}",
       "CONFIG: /pit/backend: unknown backend \"hpet\" (known: user, kvm)"},
      {"irq_lines_not_array", "{\"irq\": {\"lines\": {}}}",
       "CONFIG: /irq/lines: expected an array, got an object"},
      {"irq_line_no_name", "{\"irq\": {\"lines\": [{\"gsi\": 5}]}}",
       "CONFIG: /irq/lines/0/name: missing"},
      {"irq_line_gsi0", "{\"irq\": {\"lines\": [{\"name\": \"t\", \"gsi\": 0}]}}",
       "CONFIG: /irq/lines/0: GSI 0 belongs to the 8254 PIT"},
      {"irq_line_gsi2", "{\"irq\": {\"lines\": [{\"name\": \"c\", \"gsi\": 2}]}}",
       "CONFIG: /irq/lines/0: GSI 2 is the PIC cascade and has no route"},
      {"irq_line_uart", "{\"irq\": {\"lines\": [{\"name\": \"u\", \"gsi\": 4}]}}",
       "CONFIG: /irq/lines/0: GSI 4 belongs to the COM1 UART"},
      {"irq_line_dup_name", "{\"irq\": {\"lines\": [{\"name\": \"a\", \"gsi\": 5}, {\"name\": \"a\", \"gsi\": 6}]}}",
       "CONFIG: /irq/lines/1: the name \"a\" is used twice"},
      {"irq_line_dup_gsi", "{\"irq\": {\"lines\": [{\"name\": \"a\", \"gsi\": 5}, {\"name\": \"b\", \"gsi\": 5}]}}",
       "CONFIG: /irq/lines/1: GSI 5 is used by two lines"},
      {"irq_line_msi_no_target", "{\"irq\": {\"lines\": [{\"name\": \"m\", \"gsi\": 24}]}}",
       "CONFIG: /irq/lines/0: GSI 24 is past the IOAPIC's 24 pins: give it an msi target"},
      {"irq_line_msi_low_gsi", "{\"irq\": {\"lines\": [{\"name\": \"m\", \"gsi\": 10, \"msi\": {\"apic_id\": 0, \"vector\": 80}}]}}",
       "CONFIG: /irq/lines/0: MSI lines use GSI 24 and up; GSI 10 is an interrupt controller pin"},
      {"irq_line_msi_vector", "{\"irq\": {\"lines\": [{\"name\": \"m\", \"gsi\": 24, \"msi\": {\"apic_id\": 0, \"vector\": 7}}]}}",
       "CONFIG: /irq/lines/0: MSI vector 7 is outside 32-255 (0-31 are exceptions)"},
      {"irq_line_msi_level", "{\"irq\": {\"lines\": [{\"name\": \"m\", \"gsi\": 24, \"trigger\": \"level\", \"msi\": {\"apic_id\": 0, \"vector\": 80}}]}}",
       "CONFIG: /irq/lines/0: MSI is edge-triggered; a level MSI line cannot exist"},
      {"irq_line_trigger", "{\"irq\": {\"lines\": [{\"name\": \"a\", \"gsi\": 5, \"trigger\": \"rising\"}]}}",
       "CONFIG: /irq/lines/0/trigger: unknown trigger \"rising\" (known: edge, level)"},
      {"irq_line_gsi_huge", "{\"irq\": {\"lines\": [{\"name\": \"a\", \"gsi\": 5000}]}}",
       "CONFIG: /irq/lines/0: GSI 5000 is above 1023"},
      {"inject_unknown_line", "{\"inject\": [{\"at_ms\": 1, \"line\": \"ghost\"}]}",
       "CONFIG: /inject/0/line: no interrupt line \"ghost\" is declared in irq.lines"},
      {"inject_burst_no_interval", "{\"irq\": {\"lines\": [{\"name\": \"a\", \"gsi\": 5}]}, \"inject\": [{\"line\": \"a\", \"count\": 3}]}",
       "CONFIG: /inject/0/interval_us: a burst needs an interval"},
      {"inject_both", "{\"irq\": {\"lines\": [{\"name\": \"a\", \"gsi\": 5}]}, \"inject\": [{\"line\": \"a\", \"serial\": \"x\"}]}",
       "CONFIG: /inject/0: give either \"line\" or \"serial\""},
      {"inject_neither", "{\"inject\": [{\"at_ms\": 5}]}",
       "CONFIG: /inject/0: give either \"line\" or \"serial\""},
      {"inject_not_array", "{\"inject\": 5}",
       "CONFIG: /inject: expected an array, got a number"},
      {"control_number", "{\"control\": 1}",
       "CONFIG: /control: expected a string, got a number"},
      {"gdb_not_object", "{\"gdb\": \"tcp::1234\"}",
       "CONFIG: /gdb: expected an object, got a string"},
      {"gdb_no_endpoint", "{\"gdb\": {\"wait\": true}}",
       "CONFIG: /gdb/endpoint: missing"},
      {"gdb_bad_endpoint", "{\"gdb\": {\"endpoint\": \"serial0\"}}",
       "CONFIG: /gdb/endpoint: expected tcp:HOST:PORT, tcp::PORT, PORT or unix:PATH, got \"serial0\""},
      {"gdb_port_too_big", "{\"gdb\": {\"endpoint\": \"tcp::70000\"}}",
       "CONFIG: /gdb/endpoint: expected tcp:HOST:PORT, tcp::PORT, PORT or unix:PATH, got \"tcp::70000\""},
      {"gdb_wait_string", "{\"gdb\": {\"endpoint\": \"unix:/tmp/x\", \"wait\": \"yes\"}}",
       "CONFIG: /gdb/wait: expected true or false, got a string"},
      {"seccomp_string", "{\"seccomp\": \"off\"}",
       "CONFIG: /seccomp: expected true or false, got a string"},
      {"trace_not_object", "{\"trace\": \"t.json\"}",
       "CONFIG: /trace: expected an object, got a string"},
      {"trace_no_file", "{\"trace\": {\"buffer_mib\": 4}}",
       "CONFIG: /trace/file: missing"},
      {"trace_empty_file", "{\"trace\": {\"file\": \"\"}}",
       "CONFIG: /trace/file: must not be empty"},
      {"trace_unknown_key", "{\"trace\": {\"file\": \"t.json\", \"size\": 4}}",
       "CONFIG: /trace/size: unknown key (known keys: buffer_mib file)"},
      {"trace_buffer_tiny", "{\"trace\": {\"file\": \"t.json\", \"buffer_mib\": 0.001}}",
       "CONFIG: /trace/buffer_mib: must be between 0.0625 (64 KiB) and 4096 MiB"},
      {"trace_buffer_string", "{\"trace\": {\"file\": \"t.json\", \"buffer_mib\": \"16M\"}}",
       "CONFIG: /trace/buffer_mib: expected a number of MiB"},
      {"cpuid_unknown_feature", "{\"cpuid\": {\"clear\": [\"popcnt\", \"turbo\"]}}",
       "CONFIG: /cpuid/clear/1: unknown CPU feature \"turbo\" (known: pcid x2apic popcnt cx16 xsave osxsave avx rdrand hypervisor fsgsbase smep avx2 invpcid rdseed smap pku)"},
      {"cpuid_clear_not_array", "{\"cpuid\": {\"clear\": \"popcnt\"}}",
       "CONFIG: /cpuid/clear: expected an array of CPU feature names"},
      {"number_overflow", "{\"vcpus\": 7e1204}",
       "CONFIG: not valid JSON: number overflow parsing '7e1204'"},
};

class BadConfigs : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigs, IsOneLineAndStatusTwo) {
  const BadConfig& c = GetParam();
  const std::string path = scratch_path(std::string(c.name) + ".json");
  std::ofstream(path) << c.json;
  const auto result = run_vmm({"run", path});
  EXPECT_FALSE(result.hung);
  EXPECT_EQ(result.exit_status, 2) << result.err;
  std::string expected = c.message;
  for (std::size_t at; (at = expected.find("CONFIG")) != std::string::npos;) expected.replace(at, 6, path);
  EXPECT_EQ(result.err, "vmm: " + expected + "\n");
  EXPECT_EQ(result.out, "");
}

INSTANTIATE_TEST_SUITE_P(Config, BadConfigs, ::testing::ValuesIn(kBadConfigs),
                         [](const auto& info) { return std::string(info.param.name); });

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
  expect_input_error({"run", "--gdb", "tcp:localhost"}, "--gdb tcp:localhost: expected tcp:HOST:PORT, tcp::PORT, PORT or unix:PATH");
  expect_input_error({"run", "--gdb", "unix:"}, "--gdb unix:: expected");
  expect_input_error({"run", "--trace-buffer", "4"}, "--trace-buffer: needs --trace FILE");
  expect_input_error({"run", "--trace", "/tmp/t.json", "--trace-buffer", "0"},
                     "--trace-buffer: must be between 0.0625 (64 KiB) and 4096 MiB");
  expect_input_error({"run", "--trace", "/nonexistent/folder/t.json", "--timeout", "5s"},
                     "trace file /nonexistent/folder/t.json: cannot create it: No such file or directory");
}

TEST(BadInput, KernelProblems) {
  expect_input_error({"run", "--kernel", "/nonexistent/kernel.elf"}, "kernel /nonexistent/kernel.elf: No such file");
  const auto garbage = write_temp("garbage.bin", std::string(100000, '\x90'));
  expect_input_error({"run", "--kernel", garbage}, "not a kernel vmm can boot");
  expect_input_error({"run", "--initrd", "/nonexistent/initrd"}, "initrd /nonexistent/initrd: No such file");
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
