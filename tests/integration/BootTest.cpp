// Boots the bundled guest kernel under the vmm binary and checks what a user
// would: the tasks time-slice fairly on the PIT tick, faults end the run with
// the right status, and the run can always be stopped.

#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

constexpr int kGuestCrash = 121;
constexpr int kTimeout = 124;

struct Summary {
  long ticks;
  long scheduled;
};

// Each CPU switches once per quantum; a waiter's wake-up adds a switch or two,
// well inside the margin.
void expect_fair_time_slicing(const VmmResult& result, int tasks, int quantum_ms, int runtime_ms, int cpus = 1) {
  const auto summaries = lines_with_tag(result.out, "summary");
  ASSERT_EQ(summaries.size(), static_cast<std::size_t>(tasks)) << describe(result);
  std::vector<Summary> per_task;
  for (const auto& line : summaries)
    per_task.push_back({std::stol(field(line, "ticks")), std::stol(field(line, "scheduled"))});
  // With several CPUs, fair is per CPU (the host decides how much each vCPU
  // runs; a late tick's rest is steal, not the task's), and 15 %, as the SMP
  // tests allow.
  std::map<std::string, std::pair<long, int>> by_cpu;  // ticks, tasks
  for (int i = 0; i < tasks; ++i) {
    auto& [ticks, count] = by_cpu[cpus == 1 ? "0" : field(summaries[i], "cpu")];
    ticks += per_task[i].ticks;
    ++count;
  }
  for (int i = 0; i < tasks; ++i) {
    SCOPED_TRACE("task " + std::to_string(i));
    const auto& [ticks, count] = by_cpu[cpus == 1 ? "0" : field(summaries[i], "cpu")];
    const double fair = static_cast<double>(ticks) / count;
    EXPECT_GT(per_task[i].scheduled, 0) << describe(result);
    EXPECT_NEAR(per_task[i].ticks, fair, fair * (cpus == 1 ? 0.10 : 0.15)) << describe(result);
  }
  const auto totals = lines_with_tag(result.out, "total");
  ASSERT_EQ(totals.size(), 1u) << describe(result);
  // A slice is quantum_ms of the time a CPU ran its tasks: the run, less what
  // the host stole from that vCPU (steal_ms).
  double run_ms = 0;
  int cpu_lines = 0;
  for (const auto& line : lines_with_tag(result.out, "cpu")) {
    if (field(line, "ticks").empty()) continue;  // a "cpu ... state=online" line
    run_ms += static_cast<double>(runtime_ms - std::stol(field(line, "steal_ms")));
    ++cpu_lines;
  }
  EXPECT_EQ(cpu_lines, cpus) << describe(result);
  const double expected_switches = run_ms / quantum_ms;
  EXPECT_NEAR(std::stol(field(totals[0], "switches")), expected_switches, expected_switches * 0.10) << describe(result);
}

TEST(Boot, FourTasksTimeSliceFairlyOnThePitTick) {
  REQUIRE_KVM();
  const auto result = run_vmm({"run", "--vcpus", "1", "--cmdline", "tasks=4 quantum_ms=10 runtime_ms=2000", "--timeout", "10s"});
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(lines_with_tag(result.out, "boot").size(), 1u);
  EXPECT_EQ(lines_with_tag(result.out, "task").size(), 4u) << describe(result);
  expect_fair_time_slicing(result, 4, 10, 2000);
  EXPECT_EQ(lines_with_tag(result.out, "exit").back(), "exit code=0");
}

TEST(Boot, PolledAndInterruptDrivenSerialBothCarryAllOutput) {
  REQUIRE_KVM();
  for (const char* mode : {"poll", "irq"}) {
    SCOPED_TRACE(mode);
    const auto result =
        run_vmm({"run", "--vcpus", "1", "--cmdline", std::string("tasks=3 quantum_ms=5 runtime_ms=600 progress_ms=50 uart=") + mode,
                 "--timeout", "20s"});
    ASSERT_EQ(result.exit_status, 0) << describe(result);
    EXPECT_NE(result.out.find("uart=" + std::string(mode)), std::string::npos) << describe(result);
    EXPECT_GE(lines_with_tag(result.out, "progress").size(), 3u) << describe(result);
    expect_fair_time_slicing(result, 3, 5, 600);
  }
}

TEST(Boot, DefaultConfigRunsFromAnyFolder) {
  REQUIRE_KVM();
  const auto result = run_vmm({"run", "--timeout", "30s"}, "/");
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(lines_with_tag(result.out, "summary").size(), 4u) << describe(result);
  // Two CPUs, and two waiters each woken by the timeline's four injections.
  const auto totals = lines_with_tag(result.out, "total");
  ASSERT_EQ(totals.size(), 1u) << describe(result);
  EXPECT_EQ(field(totals[0], "cpus"), "2");
  const auto waiters = lines_with_tag(result.out, "waiter");
  ASSERT_EQ(waiters.size(), 2u) << describe(result);
  for (const auto& waiter : waiters) EXPECT_EQ(field(waiter, "wakeups"), "4") << waiter;
  EXPECT_EQ(lines_with_tag(result.out, "wake").size(), 8u) << describe(result);
}

TEST(Boot, TimesliceConfigResolvesFromItsFolder) {
  REQUIRE_KVM();
  const auto result = run_vmm({"run", std::string(VMM_SOURCE_DIR) + "/configs/timeslice.json"}, "/tmp");
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  expect_fair_time_slicing(result, 4, 10, 2000, 2);
}

TEST(Boot, TripleFaultEndsWithCrashStatusAndRegisterDump) {
  REQUIRE_KVM();
  const auto result = run_vmm({"run", "--cmdline", "crash=triple", "--timeout", "20s"});
  EXPECT_EQ(result.exit_status, kGuestCrash) << describe(result);
  EXPECT_NE(result.err.find("triple fault"), std::string::npos) << describe(result);
  EXPECT_NE(result.err.find("rip "), std::string::npos) << describe(result);
  EXPECT_NE(result.err.find("cr0 "), std::string::npos) << describe(result);
  EXPECT_NE(result.out.find("boot "), std::string::npos) << "guest output before the crash was lost";
}

TEST(Boot, GuestExceptionsAreReportedByTheKernelWithItsFailureCode) {
  REQUIRE_KVM();
  struct Case {
    const char* crash;
    const char* vector;
    const char* mode;
  };
  for (const Case c : {Case{"ud", "6", "kernel"}, Case{"pf", "14", "kernel"}, Case{"gp", "13", "kernel"},
                       Case{"user", "13", "user"}}) {
    SCOPED_TRACE(c.crash);
    const auto result = run_vmm({"run", "--cmdline", std::string("crash=") + c.crash, "--timeout", "20s"});
    EXPECT_EQ(result.exit_status, 3) << describe(result);
    const auto exceptions = lines_with_tag(result.out, "exception");
    ASSERT_EQ(exceptions.size(), 1u) << describe(result);
    EXPECT_EQ(field(exceptions[0], "vector"), c.vector) << exceptions[0];
    EXPECT_EQ(field(exceptions[0], "mode"), c.mode) << exceptions[0];
    EXPECT_FALSE(field(exceptions[0], "rip").empty());
  }
}

// The bundled kernel finds S5 the way an OS does (RSDP, XSDT, FADT, \_S5 in
// the DSDT) and powers off through PM1a_CNT instead of debug-exit.
TEST(Boot, AcpiPowerOffEndsTheRunWithStatusZero) {
  REQUIRE_KVM();
  const auto result =
      run_vmm({"run", "--vcpus", "2", "--cmdline", "tasks=2 runtime_ms=300 exit=acpi", "--timeout", "20s"});
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  const auto poweroff = lines_with_tag(result.out, "poweroff");
  ASSERT_EQ(poweroff.size(), 1u) << describe(result);
  EXPECT_EQ(field(poweroff[0], "pm1a_cnt"), "0x604") << poweroff[0];
  EXPECT_EQ(field(poweroff[0], "slp_typ"), "5") << poweroff[0];
  EXPECT_EQ(field(poweroff[0], "rsdp"), "0xf2000") << poweroff[0];
  EXPECT_NE(result.err.find("guest powered the machine off (ACPI S5)"), std::string::npos) << describe(result);
  EXPECT_EQ(lines_with_tag(result.out, "exit").back(), "exit code=0");
  EXPECT_TRUE(lines_with_tag(result.out, "error").empty()) << describe(result);
}

TEST(Boot, WithoutAcpiTheGuestFindsNoTablesToPowerOffWith) {
  REQUIRE_KVM();
  const std::string config = scratch_path("no-acpi.json");
  {
    std::ofstream out(config);
    out << R"({"acpi": false, "cmdline": "tasks=1 runtime_ms=100 exit=acpi", "timeout_ms": 20000})";
  }
  const auto result = run_vmm({"run", config});
  EXPECT_EQ(result.exit_status, 4) << describe(result);  // EXIT_BAD_BOOT, through debug-exit
  const auto errors = lines_with_tag(result.out, "error");
  ASSERT_EQ(errors.size(), 1u) << describe(result);
  EXPECT_EQ(field(errors[0], "reason"), "no_rsdp") << errors[0];
}

TEST(Boot, TimeoutStopsAGuestThatNeverExits) {
  REQUIRE_KVM();
  const auto result = run_vmm({"run", "--cmdline", "tasks=2 runtime_ms=0", "--timeout", "1500ms"});
  EXPECT_EQ(result.exit_status, kTimeout) << describe(result);
  EXPECT_FALSE(result.hung);
  EXPECT_NE(result.err.find("timeout"), std::string::npos) << describe(result);
  EXPECT_FALSE(lines_with_tag(result.out, "progress").empty()) << describe(result);
}

TEST(Boot, SigtermStopsCleanlyAndKeepsTheOutput) {
  REQUIRE_KVM();
  VmmRun run;
  run.args = {"run", "--cmdline", "tasks=2 runtime_ms=0 progress_ms=50", "--timeout", "60s"};
  run.send_signal_when = [](const std::string& out) { return out.find("progress ") != std::string::npos; };
  run.signal_to_send = SIGTERM;
  const auto result = run_vmm(run);
  EXPECT_EQ(result.exit_status, 128 + SIGTERM) << describe(result);
  EXPECT_FALSE(result.hung);
  EXPECT_NE(result.out.find("progress "), std::string::npos);
  EXPECT_NE(result.err.find("stopped by Terminated"), std::string::npos) << describe(result);
}

// The MP table the guest gets, decoded: one processor per vCPU (the boot one
// first), the IOAPIC after them, and an interrupt entry for the scripted level
// line on its IOAPIC-only pin.
TEST(Boot, PrintMptableListsEveryVcpuAndTheScriptedLines) {
  REQUIRE_KVM();
  const auto result = run_vmm({"run", VMM_SOURCE_DIR "/configs/inject-demo.json", "--vcpus", "3", "--print-mptable"});
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(lines_with_tag(result.out, "cpu").size(), 3u);
  EXPECT_NE(result.out.find("cpu apic=0 version=0x14 flags=en,bp "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("cpu apic=2 version=0x14 flags=en "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("ioapic id=3 version=0x11 address=0xfec00000\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("intsrc type=int bus=0 irq=0 -> ioapic 3 pin 2 flags=conforms\n"), std::string::npos);
  EXPECT_NE(result.out.find("intsrc type=int bus=0 irq=17 -> ioapic 3 pin 17 flags=active-high,level\n"),
            std::string::npos)
      << result.out;
  EXPECT_EQ(lines_with_tag(result.out, "intsrc").size(), 15u + 1);
  EXPECT_EQ(lines_with_tag(result.out, "lintsrc").size(), 2u);
}

}  // namespace
}  // namespace vmm::testing
