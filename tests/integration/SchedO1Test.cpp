// The bundled kernel's O(1) scheduler (sched=o1, Linux 2.6.11's rules) seen
// from programs, on one vCPU: nice, the real-time classes and wake-up
// preemption, each measured by a program in the guest
// (tests/guests/programs/sched-*.c) from its own CPU time and clock.
//
// The figures are ratios and percentiles over whole time slices, so they do
// not depend on the guest's speed; the margins are 2.6's own: a nice 0 hog
// gets 20 times a nice 19 one (100 ms slices against 5 ms; at least 8 here),
// a SCHED_FIFO hog all of the CPU next to any normal task (at least 95 %),
// and a task that sleeps 2 ms at a time beside a hog whose slice is 100 ms
// oversleeps by at most 10 ms at the 90th percentile, which only wake-up
// preemption achieves.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

#define REQUIRE_GUEST_PROGRAMS()                                                           \
  do {                                                                                     \
    if (std::string(VMM_GUEST_PROGRAMS_MISSING) != "")                                     \
      GTEST_SKIP() << "the guest programs were not built: " << VMM_GUEST_PROGRAMS_MISSING; \
  } while (0)

std::uint64_t number(const std::string& line, const std::string& key) {
  const std::string value = field(line, key);
  return value.empty() ? 0 : std::stoull(value);
}

VmmResult run_program(const std::string& program) {
  VmmRun run;
  run.args = {"run",       "--initrd", VMM_TEST_PROGRAMS_CPIO, "--cmdline", "sched=o1 quiet init=/bin/" + program,
              "--vcpus",   "1",        "--timeout",            "240s"};
  run.limit = std::chrono::seconds(270);
  return run_vmm(run);
}

// The value of key= in the one line that starts with `tag` and holds `has`.
std::uint64_t value_in(const VmmResult& result, const std::string& tag, const std::string& has, const std::string& key) {
  for (const auto& line : lines_with_tag(result.out, tag))
    if (line.find(has) != std::string::npos) return number(line, key);
  ADD_FAILURE() << "no '" << tag << "' line with " << has << "\n" << describe(result);
  return 0;
}

TEST(SchedO1, NiceZeroHogGetsAtLeastEightTimesTheCpuOfANiceNineteenOne) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const auto result = run_program("sched-nice");
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  const double nice0 = static_cast<double>(value_in(result, "hog", "nice=0 ", "cpu_ms"));
  const double nice19 = static_cast<double>(value_in(result, "hog", "nice=19 ", "cpu_ms"));
  std::fprintf(stderr, "nice 0: %.0f ms, nice 19: %.0f ms of CPU over 3 s (%.1fx)\n", nice0, nice19,
               nice0 / std::max(nice19, 1.0));
  EXPECT_GE(nice0, 8 * nice19) << describe(result);
  EXPECT_GT(nice0 + nice19, 1500) << "the hogs had the CPU for most of the 3 s\n" << describe(result);
}

TEST(SchedO1, FifoHogGetsAtLeastNinetyFivePercentBesideANiceMinusTwentyOne) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const auto result = run_program("sched-fifo");
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  const double fifo = static_cast<double>(value_in(result, "hog", "policy=fifo50", "cpu_ms"));
  const double normal = static_cast<double>(value_in(result, "hog", "policy=nice-20", "cpu_ms"));
  std::fprintf(stderr, "SCHED_FIFO 50: %.0f ms, nice -20: %.0f ms (%.1f %%)\n", fifo, normal,
               100 * fifo / std::max(fifo + normal, 1.0));
  EXPECT_GE(fifo, 0.95 * (fifo + normal)) << describe(result);
  EXPECT_GT(fifo, 250) << describe(result);
}

TEST(SchedO1, SleeperBesideAHogOversleepsAtMostTenMillisecondsAtP90) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  const auto result = run_program("sched-sleeper");
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  const std::uint64_t p90 = value_in(result, "oversleep", "p90_us", "p90_us");
  std::fprintf(stderr, "2 ms sleeps beside a nice 0 hog: oversleep p50 %lu us, p90 %lu us, max %lu us\n",
               static_cast<unsigned long>(value_in(result, "oversleep", "p50_us", "p50_us")),
               static_cast<unsigned long>(p90),
               static_cast<unsigned long>(value_in(result, "oversleep", "max_us", "max_us")));
  EXPECT_LE(p90, 10000u) << describe(result);
}

// The same sleeper under round-robin (equal 10 ms slices, a woken task queued
// first and preempting): also prompt, which is what rr's wake-up path does.
// And the system calls that set priorities work under rr too, where they are
// kept but not used.
TEST(SchedO1, PrioritySystemCallsAreAcceptedUnderRoundRobinToo) {
  REQUIRE_KVM();
  REQUIRE_GUEST_PROGRAMS();
  VmmRun run;
  run.args = {"run", "--initrd", VMM_TEST_PROGRAMS_CPIO, "--cmdline", "sched=rr quiet init=/bin/sched-fifo 200",
              "--vcpus", "1", "--timeout", "240s"};
  run.limit = std::chrono::seconds(270);
  const auto result = run_vmm(run);
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(lines_with_tag(result.out, "hog").size(), 2u) << describe(result);
}

}  // namespace
}  // namespace vmm::testing
