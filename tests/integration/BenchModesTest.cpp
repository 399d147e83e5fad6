// The bundled kernel's benchmark modes that need more than the boot CPU:
// bench=ipi times IPI round trips between CPU 0 and CPU 1, and with one CPU
// says why it cannot. These check the behaviour and the result line, never the
// speed (which is the host's; tools/bench/run reports it).

#include <gtest/gtest.h>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

constexpr int kBenchmarkFailed = 5;  // the guest's EXIT_SELFTEST_FAILED

// "12.5" -> 12.5; the line's microsecond fields have one decimal.
double microseconds(const std::string& line, const std::string& key) {
  const std::string value = field(line, key);
  EXPECT_FALSE(value.empty()) << key << " missing in: " << line;
  return value.empty() ? 0 : std::stod(value);
}

class BenchIpi : public ::testing::TestWithParam<std::string> {};

TEST_P(BenchIpi, TwoCpusTimeEveryRoundAndExitCleanly) {
  REQUIRE_KVM();
  const std::string wait = GetParam();
  const auto result = run_vmm({"run", "--vcpus", "2", "--cmdline", "bench=ipi bench_rounds=2000 bench_wait=" + wait,
                               "--timeout", "60s"});
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  const auto lines = lines_with_tag(result.out, "bench");
  ASSERT_EQ(lines.size(), 1u) << describe(result);
  const std::string& line = lines[0];
  SCOPED_TRACE(line);
  EXPECT_EQ(line.rfind("bench ipi ", 0), 0u);
  EXPECT_EQ(field(line, "rounds"), "2000");
  EXPECT_EQ(field(line, "wait"), wait);
  EXPECT_GT(std::stoull(field(line, "tsc_khz")), 0u);
  const double p50 = microseconds(line, "p50_us"), p99 = microseconds(line, "p99_us");
  EXPECT_GT(p50, 0);
  EXPECT_GE(p99, p50);
  EXPECT_LE(microseconds(line, "min_us"), p50);
  EXPECT_GE(microseconds(line, "max_us"), p99);
  EXPECT_TRUE(lines_with_tag(result.out, "summary").empty()) << "no tasks ran";
}

INSTANTIATE_TEST_SUITE_P(Waits, BenchIpi, ::testing::Values("hlt", "spin"),
                         [](const auto& info) { return info.param; });

TEST(BenchIpiOneCpu, SaysItNeedsTwoCpus) {
  REQUIRE_KVM();
  const auto result = run_vmm({"run", "--vcpus", "1", "--cmdline", "bench=ipi", "--timeout", "30s"});
  EXPECT_EQ(result.exit_status, kBenchmarkFailed) << describe(result);
  const auto errors = lines_with_tag(result.out, "error");
  ASSERT_EQ(errors.size(), 1u) << describe(result);
  EXPECT_EQ(field(errors[0], "bench"), "ipi");
  EXPECT_EQ(field(errors[0], "reason"), "needs_two_cpus");
  EXPECT_TRUE(lines_with_tag(result.out, "bench").empty());
}

}  // namespace
}  // namespace vmm::testing
