// Debian's stock Linux kernel on vmm's own PIT, UART and GSI routing, judged
// by Linux's own words on the console: its 8250 driver finds a 16550A, its
// check_timer gets IRQ0 through the IOAPIC pin the MADT (and MP table) names on the
// first try, both CPUs come up, and the busybox shell of the initramfs
// answers what is typed on vmm's stdin and sent through the control socket,
// until `reboot -f` ends the run through the i8042 with status 0; a second
// boot's `poweroff -f` ends it through ACPI S5, also with status 0.
//
// Where guest ring 0 runs in KVM's instruction emulator (nested kvm_pvm),
// the kernel boots as far as starting /init, and init's first `syscall`
// from ring 3 lands on entry_SYSCALL_64 still in user mode: the host's
// SYSCALL does not switch to the kernel, so Linux's user space cannot run
// there, and the test asserts that stop exactly (init's segfault at the
// address of entry_SYSCALL_64, named by the kernel's own kallsyms) and the
// run's end through panic=-1 and the i8042. Elsewhere it asserts the shell.
//
// The kernel and initramfs come from Debian through tools/linux/fetch (which
// tools/test runs) into .cache/linux, never from the repository. On a host
// whose KVM emulates guest ring 0 (nested kvm_pvm) the boot takes minutes:
// the limits are generous and nothing here depends on guest speed.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

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
        !std::filesystem::exists(linux_cache() / "kallsyms"))                                    \
      GTEST_SKIP() << "needs Debian's kernel and busybox in " << linux_cache()                         \
                   << ": run tools/linux/fetch (tools/test does)";                                     \
  } while (0)

// "ffffffff81c00080" for a symbol of the kernel's kallsyms (tools/linux/fetch
// writes them); empty when absent.
std::string symbol_address(const std::string& name) {
  std::ifstream map(linux_cache() / "kallsyms");
  std::string address, kind, symbol;
  while (map >> address >> kind >> symbol)
    if (symbol == name) return address;
  return "";
}

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

// The /proc/interrupts table printed just before `done` (the last one).
std::string table_before(const std::string& log, const char* done) {
  const std::size_t end = log.rfind(done);
  if (end == std::string::npos) return "";
  const std::size_t start = log.rfind("CPU0", end);
  return start == std::string::npos ? "" : log.substr(start, end - start);
}

TEST(Linux, DebiansKernelBootsOnVmmsDevicesAndTwoCpus) {
  REQUIRE_KVM();
  REQUIRE_LINUX_IMAGES();
  const std::string socket = scratch_path("control");
  const std::string stats_path = scratch_path("stats.json");
  enum class Step { Booting, TypedOnStdin, SentThroughSocket, Rebooting } step = Step::Booting;
  std::string socket_error;

  VmmRun run;
  run.args = {"run",       std::string(VMM_SOURCE_DIR) + "/configs/linux.json",
              "--kernel",  (linux_cache() / "vmlinux").string(),
              "--initrd",  (linux_cache() / "initramfs.cpio").string(),
              "--control", socket,
              "--stats",   stats_path,
              "--timeout", "1500s"};
  run.limit = std::chrono::minutes(27);
  // Answers the console as a user would: a command once the prompt is back.
  auto prompt_after = [](const std::string& out, const std::string& what) {
    const std::size_t at = after(out, what);
    return at != std::string::npos && out.find(kPrompt, at) != std::string::npos;
  };
  run.type_when = [&](const std::string& out) -> std::string {
    switch (step) {
      case Step::Booting:
        if (!prompt_after(out, kMarker)) return "";
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
        step = Step::Rebooting;
        return "reboot -f\n";
      case Step::Rebooting:
        return "";
    }
    return "";
  };
  const VmmResult result = run_vmm(run);
  const std::string& log = result.out;
  std::fprintf(stderr, "Linux boot: %lld s to the end of the run\n",
               static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(result.elapsed).count()));

  // The 8250 driver's probe of our UART.
  EXPECT_NE(log.find("ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A"), std::string::npos) << log;
  // check_timer: IRQ0 through the IOAPIC pin of the MP table, first try.
  EXPECT_NE(log.find("..TIMER: vector=0x30 apic1=0 pin1=2"), std::string::npos) << log;
  for (const char* failure : {"IO-APIC + timer doesn't work", "8254 timer not connected to IO-APIC",
                              "through the 8259A", "Virtual Wire IRQ", "ExtINT IRQ"})
    EXPECT_EQ(log.find(failure), std::string::npos) << "check_timer fell back: " << failure << "\n" << log;
  // Both CPUs, from the MP table and INIT-SIPI-SIPI.
  EXPECT_NE(log.find("smp: Brought up 1 node, 2 CPUs"), std::string::npos) << log;
  // The hypervisor was hidden, so Linux calibrated its TSC itself.
  EXPECT_EQ(log.find("Hypervisor detected"), std::string::npos) << log;
  std::ifstream stats_file(stats_path);
  const auto stats = nlohmann::json::parse(stats_file, nullptr, false);
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
    // cannot meet that, and vmm says it runs on such a host.
    EXPECT_NE(log.find("tsc: Unable to calibrate against PIT"), std::string::npos) << log;
    EXPECT_NE(result.err.find("this host's KVM could not emulate"), std::string::npos)
        << "PIT calibration failed on a host that is not of the emulating kind\n" << result.err;
  }

  EXPECT_NE(log.find("rtc_cmos rtc_cmos: setting system clock to 20"), std::string::npos) << log;
  // ACPI: Linux takes vmm's MADT for its CPUs (the same ones as the MP table)
  // and finds \_S5, so its power-off goes to vmm's PM1a_CNT.
  EXPECT_NE(log.find("ACPI: Using ACPI (MADT) for SMP configuration information"), std::string::npos) << log;
  EXPECT_NE(log.find("ACPI: PM: (supports S0 S5)"), std::string::npos) << log;
  EXPECT_NE(log.find("Run /init as init process"), std::string::npos) << log;
  // The run ends through the keyboard controller's reset line either way:
  // reboot -f with reboot=k, or a panic with panic=-1.
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_NE(result.err.find("guest reset the machine through the i8042"), std::string::npos) << result.err;
  std::fprintf(stderr, "emulation fix-ups: %s (%s ns); pit: %s\n", stats["emulation_fixups"].dump().c_str(),
               stats["emulation_fixup_ns"].dump().c_str(), stats["pit"].dump().c_str());
  EXPECT_GT(stats["pit"]["irq_edges"].get<std::uint64_t>(), 0u);

  if (log.find(kMarker) == std::string::npos &&
      result.err.find("this host's KVM could not emulate") != std::string::npos) {
    const std::string entry = symbol_address("entry_SYSCALL_64");
    ASSERT_FALSE(entry.empty()) << "no entry_SYSCALL_64 in " << linux_cache() / "kallsyms";
    EXPECT_NE(log.find("init[1]: segfault at " + entry + " ip " + entry), std::string::npos)
        << "not the known stop of this host (SYSCALL from ring 3 staying in ring 3)\n" << log;
    std::fprintf(stderr, "Linux stopped where this host stops it: init's first syscall, at entry_SYSCALL_64 %s\n",
                 entry.c_str());
    return;
  }

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

  // Once more, to power off: Linux's acpi_power_off writes S5 to PM1a_CNT.
  VmmRun again;
  again.args = {"run",      std::string(VMM_SOURCE_DIR) + "/configs/linux.json",
                "--kernel", (linux_cache() / "vmlinux").string(),
                "--initrd", (linux_cache() / "initramfs.cpio").string(),
                "--timeout", "1500s"};
  again.limit = std::chrono::minutes(27);
  bool typed = false;
  again.type_when = [&](const std::string& out) -> std::string {
    if (typed || !prompt_after(out, kMarker)) return "";
    typed = true;
    return "poweroff -f\n";
  };
  const VmmResult off = run_vmm(again);
  ASSERT_TRUE(typed) << describe(off);
  EXPECT_EQ(off.exit_status, 0) << describe(off);
  EXPECT_NE(off.out.find("reboot: Power down"), std::string::npos) << off.out;
  EXPECT_NE(off.err.find("guest powered the machine off (ACPI S5)"), std::string::npos) << off.err;
}

}  // namespace
}  // namespace vmm::testing
