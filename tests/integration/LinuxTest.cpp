// Debian's stock Linux kernel on vmm's own PIT, UART and GSI routing, judged
// by Linux's own words on the console: its 8250 driver finds a 16550A, its
// check_timer takes the IOAPIC pin the MADT (and MP table) names for IRQ0 and
// the timer counts there, both CPUs come up, and the busybox shell of the initramfs
// answers what is typed on vmm's stdin and sent through the control socket,
// until `reboot -f` ends the run through the i8042 with status 0. Another
// boot's `poweroff -f` ends through ACPI S5, also with status 0, and a user's
// own initramfs (one static musl /init) runs and reboots.
//
// Every criterion holds on every host. Where guest ring 0 runs in KVM's
// instruction emulator (nested kvm_pvm), SYSCALL from ring 3 is left half
// done by the host and vmm completes it (vmm/kvm/SyscallCompletion.h): the
// tests print how many fix-ups fired and require none on hardware
// virtualization. The one difference left is Linux's TSC calibration against
// the PIT, which needs exits faster than such a host has.
//
// The kernel and initramfs come from Debian through tools/linux/fetch (which
// tools/test runs) into .cache/linux, never from the repository. Where ring 0
// is emulated a boot takes minutes: the limits are generous and nothing here
// depends on guest speed. Boots are the cost (each takes both of ctest's
// slots, tests/CMakeLists.txt), so a test asks all it can of its boot: the
// shell test also runs the GDB session.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

constexpr const char* kMarker = "vmm-initramfs: init ready";
constexpr const char* kPrompt = "vmm-linux# ";

std::filesystem::path linux_cache() {
  if (const char* dir = std::getenv("VMM_LINUX_CACHE")) return dir;
  return std::filesystem::path(VMM_SOURCE_DIR) / ".cache" / "linux";
}

#define REQUIRE_LINUX_IMAGES()                                                                          \
  do {                                                                                                 \
    if (!std::filesystem::exists(linux_cache() / "vmlinux") ||                                         \
        !std::filesystem::exists(linux_cache() / "initramfs.cpio") ||                                  \
        !std::filesystem::exists(linux_cache() / "kallsyms") ||                                        \
        !std::filesystem::exists(linux_cache() / "kallsyms.elf"))                                      \
      GTEST_SKIP() << "needs Debian's kernel and busybox in " << linux_cache()                         \
                   << ": run tools/linux/fetch (tools/test does)";                                     \
  } while (0)

std::size_t after(const std::string& text, const std::string& what, std::size_t from = 0) {
  const std::size_t at = text.find(what, from);
  return at == std::string::npos ? std::string::npos : at + what.size();
}

// The counts of the /proc/interrupts row for `irq` ("0", "4"), summed over the CPUs.
std::uint64_t interrupt_count(const std::string& table, const std::string& irq, std::string* row_text) {
  std::istringstream rows(table);
  std::string row;
  while (std::getline(rows, row)) {
    std::istringstream fields(row);
    std::string name;
    fields >> name;
    if (name != irq + ":") continue;
    if (row_text) *row_text = row;
    std::uint64_t total = 0, count = 0;
    while (fields >> count) total += count;
    return total;
  }
  return 0;
}

// Each command ends with an echo of a sum, so its output is complete once the
// sum is on the console: the shell computed it, no console echo of the typing.
constexpr const char* kStdinCommand = "cat /proc/interrupts; echo typed on stdin: $((6 * 7))\n";
constexpr const char* kStdinDone = "typed on stdin: 42";
constexpr const char* kSocketCommand = "cat /proc/interrupts; echo sent through the socket: $((6 * 8))\n";
constexpr const char* kSocketDone = "sent through the socket: 48";

nlohmann::json read_stats(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file, nullptr, false);
}

// Prints the run's emulation fix-ups and checks them against the host: none on
// hardware virtualization; where ring 0 is emulated, the SYSCALLs that user
// space made were completed by vmm (at least `min_syscalls`).
void check_fixups(const nlohmann::json& stats, const char* run, std::uint64_t min_syscalls) {
  ASSERT_TRUE(stats.is_object() && stats.contains("emulation_fixups")) << stats.dump();
  const auto& fixups = stats["emulation_fixups"];
  std::fprintf(stderr, "%s: emulation fix-ups %s (%s ns in vmm)\n", run, fixups.dump().c_str(),
               stats["emulation_fixup_ns"].dump().c_str());
  if (host_has_hardware_virtualization()) {
    for (const auto& [kind, count] : fixups.items()) EXPECT_EQ(count.get<std::uint64_t>(), 0u) << kind;
    return;
  }
  EXPECT_GE(fixups["syscall"].get<std::uint64_t>(), min_syscalls) << fixups.dump();
}

// configs/linux.json with Debian's kernel, `initrd` and `extra` flags, with
// limits for a boot that takes minutes where ring 0 is emulated.
VmmRun linux_run(const std::string& initrd, const std::vector<std::string>& extra) {
  VmmRun run;
  run.args = {"run",      std::string(VMM_SOURCE_DIR) + "/configs/linux.json",
              "--kernel", (linux_cache() / "vmlinux").string(),
              "--initrd", initrd,
              "--timeout", "1500s"};
  run.args.insert(run.args.end(), extra.begin(), extra.end());
  run.limit = std::chrono::minutes(27);
  return run;
}

void print_elapsed(const char* what, const VmmResult& result) {
  std::fprintf(stderr, "%s: %lld s to the end of the run\n", what,
               static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(result.elapsed).count()));
}

// The /proc/interrupts table printed just before `done` (the last one).
std::string table_before(const std::string& log, const char* done) {
  const std::size_t end = log.rfind(done);
  if (end == std::string::npos) return "";
  const std::size_t start = log.rfind("CPU0", end);
  return start == std::string::npos ? "" : log.substr(start, end - start);
}

bool prompt_after(const std::string& out, const std::string& what) {
  const std::size_t at = after(out, what);
  return at != std::string::npos && out.find(kPrompt, at) != std::string::npos;
}

// The course's exercise (shared/COURSE.md, the fork and execve notes), as
// docs/linux-gdb.md walks through it, on the shell the boot test reached: GDB
// on Linux's own symbols and unwind tables (kallsyms.elf,
// tools/linux/make-gdb-symbols) stops in kernel_clone for the shell's fork and
// shows the path from the SYSCALL entry; the child's first run through
// ret_from_fork, returning 0 to user mode; and the child's execve reaching
// load_elf_binary. It rides on the boot test's run because a boot takes
// minutes where ring 0 is emulated, and both need the same shell.
class ForkAndExecveUnderGdb {
 public:
  // The command the shell forks and execs for; typed once GDB is ready.
  static constexpr const char* kDone = "forked and executed: 54";

  ForkAndExecveUnderGdb() {
    std::filesystem::remove(ready_);
    std::ofstream script(script_path_);
    script << "set pagination off\n"
              "set confirm off\n"
              "target remote " << socket_ << "\n"
              // The shell's fork, not a kernel thread's: called from a system call.
              "hbreak kernel_clone if $_any_caller_matches(\"^do_syscall_64$\", 4)\n"
              // The test types the command now; the guest reads it once GDB continues.
              "shell touch " << ready_ << "\n"
              "continue\n"
              "bt\n"
              "delete\n"
              // A user process's child: ret_from_fork with no kernel-thread function in rbx.
              "hbreak ret_from_fork if $rbx == 0\n"
              "continue\n"
              "bt\n"
              // At ret_from_fork RSP is the child's pt_regs: ax, ip and cs are what it returns to ring 3 with.
              "printf \"child: rax %#lx to user rip %#lx cs %#lx\\n\", *(long *)($rsp + 80), *(long *)($rsp + 128), "
              "*(long *)($rsp + 136)\n"
              "delete\n"
              "hbreak load_elf_binary\n"
              "continue\n"
              "bt\n"
              "delete\n"
              "detach\n";
  }

  std::string endpoint() const { return "unix:" + socket_; }

  // Runs GDB on its script, and types the command through `control` once GDB
  // has its first breakpoint. Both are bounded from now, not from the run's
  // start: the boot before them takes minutes where ring 0 is emulated.
  void start(const std::string& control) {
    typed_ = std::async(std::launch::async, [this, control] {
      for (int waited = 0; waited < kSeconds * 5 && !std::filesystem::exists(ready_); ++waited)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (!std::filesystem::exists(ready_)) return std::string("gdb never got to its first continue");
      // A path with a slash, so busybox's ash execs it rather than running the
      // applet in the forked child.
      const auto reply =
          request(control, {{"cmd", "serial"}, {"text", "/bin/busybox uname -r; echo forked and executed: $((6 * 9))\n"}});
      return reply.value("ok", false) ? std::string() : reply.dump();
    });
    gdb_ = std::async(std::launch::async, [this] {
      const std::string line = "timeout " + std::to_string(kSeconds) + " gdb -batch -nx -x " + script_path_ + " " +
                               (linux_cache() / "kallsyms.elf").string() + " 2>&1";
      std::string output;
      if (FILE* pipe = ::popen(line.c_str(), "r")) {
        std::array<char, 4096> chunk;
        while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
        ::pclose(pipe);
      }
      return output;
    });
  }

  // Once the run is over: what GDB showed, against the kernel's paths.
  void check(const VmmResult& result) {
    ASSERT_TRUE(gdb_.valid()) << "the shell never came up for GDB\n" << describe(result);
    const std::string session = gdb_.get();
    std::fprintf(stderr, "%s\n", session.c_str());
    EXPECT_EQ(typed_.get(), "");

    // fork: kernel_clone, called from the clone system call's entry.
    const std::size_t clone = session.find("in kernel_clone ()\n#0");
    ASSERT_NE(clone, std::string::npos) << session;
    EXPECT_EQ(frames(session, session.find("#0", clone)),
              (std::vector<std::string>{"kernel_clone", "__do_sys_clone", "do_syscall_64",
                                        "entry_SYSCALL_64_after_hwframe"}))
        << session;
    // The child's first run: ret_from_fork, returning 0 to ring 3 (CS 0x33).
    EXPECT_NE(session.find("in ret_from_fork ()\n#0"), std::string::npos) << session;
    std::smatch child;
    ASSERT_TRUE(std::regex_search(session, child, std::regex(R"(child: rax 0 to user rip (0x[0-9a-f]+) cs 0x33)")))
        << session;
    // execve: the child's, reaching the ELF loader.
    const std::size_t exec = session.find("in load_elf_binary ()\n#0");
    ASSERT_NE(exec, std::string::npos) << session;
    const auto exec_path = frames(session, session.find("#0", exec));
    ASSERT_GE(exec_path.size(), 4u) << session;
    EXPECT_EQ(exec_path.front(), "load_elf_binary") << session;
    EXPECT_NE(std::find(exec_path.begin(), exec_path.end(), "bprm_execve"), exec_path.end()) << session;
    EXPECT_NE(std::find(exec_path.begin(), exec_path.end(), "__x64_sys_execve"), exec_path.end()) << session;
    EXPECT_EQ(exec_path[exec_path.size() - 2], "do_syscall_64") << session;
    EXPECT_EQ(exec_path.back(), "entry_SYSCALL_64_after_hwframe") << session;
    // And the command ran to its end once GDB let go.
    EXPECT_NE(result.out.find(kDone), std::string::npos) << result.out;
  }

 private:
  // GDB's own limit, and the wait for it to be ready.
  static constexpr int kSeconds = 600;

  // The function names of a backtrace printed from `from` on.
  static std::vector<std::string> frames(const std::string& session, std::size_t from) {
    std::vector<std::string> names;
    std::istringstream lines(session.substr(from));
    std::string line;
    std::smatch frame;
    while (std::getline(lines, line) && std::regex_search(line, frame, std::regex(R"(^#\d+\s+0x[0-9a-f]+ in (\S+) )")))
      names.push_back(frame[1]);
    return names;
  }

  const std::string socket_ = scratch_path("gdb"), script_path_ = scratch_path("gdb-commands"),
                    ready_ = scratch_path("gdb-ready");
  std::future<std::string> typed_, gdb_;
};

// One boot: the kernel's milestones, the shell on stdin and on the control
// socket, the fork-and-execve GDB session, and `reboot -f`.
TEST(Linux, DebiansKernelBootsToTheShellOnVmmsDevicesAndTwoCpusAndGdbFollowsForkAndExecve) {
  REQUIRE_KVM();
  REQUIRE_LINUX_IMAGES();
  if (!have_program("gdb")) GTEST_FAIL() << "gdb is not installed (tools/test installs it)";
  const std::string socket = scratch_path("control");
  const std::string stats_path = scratch_path("stats.json");
  enum class Step { Booting, TypedOnStdin, SentThroughSocket, Debugging, Rebooting } step = Step::Booting;
  std::string socket_error;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now(), shell;
  ForkAndExecveUnderGdb gdb;

  VmmRun run = linux_run((linux_cache() / "initramfs.cpio").string(),
                         {"--control", socket, "--stats", stats_path, "--gdb", gdb.endpoint()});
  // Answers the console as a user would: a command once the prompt is back.
  run.type_when = [&](const std::string& out) -> std::string {
    switch (step) {
      case Step::Booting:
        if (!prompt_after(out, kMarker)) return "";
        shell = std::chrono::steady_clock::now();
        step = Step::TypedOnStdin;
        return kStdinCommand;
      case Step::TypedOnStdin: {
        if (!prompt_after(out, kStdinDone)) return "";
        step = Step::SentThroughSocket;
        const auto reply = request(socket, {{"cmd", "serial"}, {"text", kSocketCommand}});
        if (!reply.value("ok", false)) socket_error = reply.dump();
        return "";
      }
      case Step::SentThroughSocket:
        if (!prompt_after(out, kSocketDone)) return "";
        step = Step::Debugging;
        gdb.start(socket);
        return "";
      case Step::Debugging:
        if (!prompt_after(out, ForkAndExecveUnderGdb::kDone)) return "";
        step = Step::Rebooting;
        return "reboot -f\n";
      case Step::Rebooting:
        return "";
    }
    return "";
  };
  const VmmResult result = run_vmm(run);
  const std::string& log = result.out;
  print_elapsed("Linux boot, shell session, GDB session and reboot", result);
  if (step != Step::Booting)
    std::fprintf(stderr, "Linux boot: %lld s to the shell prompt\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(shell - started).count()));

  // The 8250 driver's probe of our UART.
  EXPECT_NE(log.find("ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A"), std::string::npos) << log;
  // check_timer: IRQ0 through the IOAPIC pin of the MP table, and no fallback.
  // configs/linux.json passes no_timer_check, as Linux sets itself on KVM: its
  // timer_irq_works() is a race against the TSC that a host emulating ring 0
  // loses now and then. /proc/interrupts below shows the ticks on that pin.
  EXPECT_NE(log.find("..TIMER: vector=0x30 apic1=0 pin1=2"), std::string::npos) << log;
  for (const char* failure : {"IO-APIC + timer doesn't work", "8254 timer not connected to IO-APIC",
                              "through the 8259A", "Virtual Wire IRQ", "ExtINT IRQ"})
    EXPECT_EQ(log.find(failure), std::string::npos) << "check_timer fell back: " << failure << "\n" << log;
  // Both CPUs, from the MP table and INIT-SIPI-SIPI.
  EXPECT_NE(log.find("smp: Brought up 1 node, 2 CPUs"), std::string::npos) << log;
  // The hypervisor was hidden, so Linux calibrated its TSC itself.
  EXPECT_EQ(log.find("Hypervisor detected"), std::string::npos) << log;
  const auto stats = read_stats(stats_path);
  ASSERT_TRUE(stats.is_object()) << describe(result);
  std::smatch detected;
  if (std::regex_search(log, detected, std::regex(R"(tsc: Detected ([0-9.]+) MHz processor)"))) {
    // Against the frequency KVM runs the guest's TSC at (KVM_GET_TSC_KHZ).
    ASSERT_TRUE(stats.contains("tsc_khz")) << stats.dump();
    const double host = stats["tsc_khz"].get<double>() / 1000;
    EXPECT_NEAR(std::stod(detected[1]), host, host * 0.01) << "Linux's PIT calibration of its TSC";
  } else {
    // Linux gives up when 1000 reads of port 0x61 do not fit in 10 ms; a
    // host whose every exit costs more than 10 us (ring 0 in KVM's emulator)
    // cannot meet that. The one host-bound difference left.
    EXPECT_NE(log.find("tsc: Unable to calibrate against PIT"), std::string::npos) << log;
    EXPECT_FALSE(host_has_hardware_virtualization()) << "PIT calibration failed on hardware virtualization";
  }

  EXPECT_NE(log.find("rtc_cmos rtc_cmos: setting system clock to 20"), std::string::npos) << log;
  // ACPI: Linux takes vmm's MADT for its CPUs (the same ones as the MP table)
  // and finds \_S5, so its power-off goes to vmm's PM1a_CNT.
  EXPECT_NE(log.find("ACPI: Using ACPI (MADT) for SMP configuration information"), std::string::npos) << log;
  EXPECT_NE(log.find("ACPI: PM: (supports S0 S5)"), std::string::npos) << log;
  EXPECT_NE(log.find("Run /init as init process"), std::string::npos) << log;
  EXPECT_EQ(log.find("segfault"), std::string::npos) << log;
  EXPECT_GT(stats["pit"]["irq_edges"].get<std::uint64_t>(), 0u);

  // The initramfs and its shell, on the serial console both ways.
  EXPECT_NE(log.find(std::string(kMarker) + " (kernel "), std::string::npos) << log;
  EXPECT_NE(log.find(", 2 CPUs)"), std::string::npos) << "the initramfs counts both CPUs\n" << log;
  EXPECT_TRUE(socket_error.empty()) << socket_error;
  ASSERT_EQ(step, Step::Rebooting) << describe(result);
  const std::string first = table_before(log, kStdinDone), second = table_before(log, kSocketDone);
  std::string timer_row, uart_row;
  EXPECT_GT(interrupt_count(first, "0", &timer_row), 0u) << first;
  EXPECT_NE(timer_row.find("IO-APIC"), std::string::npos) << timer_row;
  EXPECT_NE(timer_row.find("timer"), std::string::npos) << timer_row;
  EXPECT_NE(interrupt_count(first, "4", &uart_row), 0u) << first;
  EXPECT_NE(uart_row.find("ttyS0"), std::string::npos) << uart_row;
  // Counting between the two: the UART's interrupt (the shell's I/O) and the
  // local timers that took over the tick from the PIT.
  EXPECT_GT(interrupt_count(second, "4", nullptr), interrupt_count(first, "4", nullptr)) << first << second;
  EXPECT_GT(interrupt_count(second, "LOC", nullptr), interrupt_count(first, "LOC", nullptr)) << first << second;
  EXPECT_NE(log.find("reboot: Restarting system"), std::string::npos) << log;
  // reboot -f with reboot=k: through the keyboard controller's reset line.
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_NE(result.err.find("guest reset the machine through the i8042"), std::string::npos) << result.err;
  // init, the shell and each command: hundreds of system calls.
  check_fixups(stats, "Linux boot and shell session", 100);
  gdb.check(result);
}


// Linux's acpi_power_off writes S5 to PM1a_CNT. Driven by the example
// scenario examples/scenarios/linux/shell.json (docs/scenarios.md), as a CI
// user would: wait for the prompt, type `cat /proc/interrupts` twice and
// expect the UART's count to have risen, then `poweroff -f` and expect the
// run's end with status 0.
TEST(Linux, PoweroffFromTheShellEndsTheRunThroughAcpi) {
  REQUIRE_KVM();
  REQUIRE_LINUX_IMAGES();
  const std::string stats_path = scratch_path("stats.json");
  VmmRun run;
  run.args = {"run", std::string(VMM_SOURCE_DIR) + "/examples/scenarios/linux/shell.json", "--stats", stats_path};
  run.limit = std::chrono::minutes(25);
  const VmmResult off = run_vmm(run);
  print_elapsed("Linux boot, shell scenario and poweroff", off);
  EXPECT_EQ(off.exit_status, 0) << describe(off);
  EXPECT_EQ(off.err.find("scenario:"), std::string::npos) << off.err;
  EXPECT_NE(off.out.find("ttyS0"), std::string::npos) << off.out;
  EXPECT_NE(off.out.find("reboot: Power down"), std::string::npos) << off.out;
  EXPECT_NE(off.err.find("guest powered the machine off (ACPI S5)"), std::string::npos) << off.err;
  check_fixups(read_stats(stats_path), "Linux boot and poweroff", 10);
}

TEST(Linux, AnInitramfsOfYourOwnRunsItsInitAndReboots) {
  REQUIRE_KVM();
  REQUIRE_LINUX_IMAGES();
  const std::string initramfs = VMM_OWN_INITRAMFS;
  if (initramfs.empty()) {
    if (std::getenv("VMM_REQUIRE_KVM")) FAIL() << "musl-gcc or cpio was missing at configure time";
    GTEST_SKIP() << "needs musl-gcc and cpio at configure time (tools/setup installs musl-tools and cpio)";
  }
  const std::string stats_path = scratch_path("stats.json");
  VmmRun run = linux_run(initramfs, {"--stats", stats_path});
  const VmmResult result = run_vmm(run);
  print_elapsed("Linux boot of an own initramfs", result);
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  std::smatch said;
  ASSERT_TRUE(std::regex_search(result.out, said,
                                std::regex(R"(vmm-own-init: /init is pid 1 on Linux (\S+); rebooting)")))
      << describe(result);
  EXPECT_NE(result.out.find("reboot: Restarting system"), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("guest reset the machine through the i8042"), std::string::npos) << result.err;
  // mkdir, mount, open, dup2 twice, uname, getpid, write, sync, reboot, and
  // musl's start-up: a dozen or more.
  check_fixups(read_stats(stats_path), "Linux with an own initramfs", 10);
}

}  // namespace
}  // namespace vmm::testing
