// Scenarios (the config's "scenario" steps, docs/scenarios.md) through the vmm
// binary: the bundled kernel's example passes; a step that fails ends the run
// with status 123 and one message naming the step, what it waited for, how
// long, and the console's last lines; a run that ends before its steps are
// done, or with another status than its exit step names, fails the same way.
// Every wait is on the console or the run's end, never on a fixed time.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

constexpr int kScenarioFailed = 123;

VmmResult run_scenario_file(const std::string& path) { return run_vmm({"run", path, "--timeout", "240s"}); }

std::string write_config(const std::string& name, const std::string& json) {
  const std::string path = scratch_path(name);
  std::ofstream(path) << json;
  return path;
}

TEST(Scenario, TheBundledKernelExampleWaitsInjectsChecksAndPasses) {
  REQUIRE_KVM();
  const auto result = run_scenario_file(std::string(VMM_SOURCE_DIR) + "/examples/scenarios/bundled-kernel.json");
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_NE(result.out.find("wake id=2 line=5 count=4"), std::string::npos) << describe(result);
  EXPECT_EQ(result.err.find("scenario:"), std::string::npos) << describe(result);
}

TEST(Scenario, AStepThatFailsNamesItselfItsWaitAndTheConsoleTail) {
  REQUIRE_KVM();
  const auto path = write_config("scenario-fails.json", R"json({
    "cmdline": "tasks=1 runtime_ms=0 progress_ms=0",
    "vcpus": 1,
    "scenario": [
      {"expect": "task id=0 state=start", "timeout_ms": 60000},
      {"expect": "this line never comes", "timeout_ms": 1500},
      {"stop": true}
    ]})json");
  const auto result = run_scenario_file(path);
  EXPECT_EQ(result.exit_status, kScenarioFailed) << describe(result);
  EXPECT_NE(result.err.find("vmm: scenario: step 2 of 3 (/scenario/1: expect /this line never comes/) failed after "),
            std::string::npos)
      << describe(result);
  EXPECT_NE(result.err.find(": not seen within 1500 ms\nthe console's last lines:\n"), std::string::npos)
      << describe(result);
  EXPECT_NE(result.err.find("  | task id=0 state=start\n"), std::string::npos) << describe(result);
}

TEST(Scenario, ARunThatEndsFirstOrWithAnotherStatusFailsIt) {
  REQUIRE_KVM();
  const auto early = write_config("scenario-early.json", R"json({
    "cmdline": "tasks=1 runtime_ms=200 progress_ms=0", "vcpus": 1,
    "scenario": [{"expect": "total ticks="}, {"expect": "after the end"}, {"exit": {"status": 0}}]})json");
  auto result = run_scenario_file(early);
  EXPECT_EQ(result.exit_status, kScenarioFailed) << describe(result);
  EXPECT_NE(result.err.find("step 2 of 3 (/scenario/1: expect /after the end/) failed after "), std::string::npos)
      << describe(result);
  EXPECT_NE(result.err.find("the run ended first, with status 0"), std::string::npos) << describe(result);

  const auto status = write_config("scenario-status.json", R"json({
    "cmdline": "tasks=1 runtime_ms=200 progress_ms=0", "vcpus": 1,
    "scenario": [{"expect": "total ticks="}, {"exit": {"status": 3}}]})json");
  result = run_scenario_file(status);
  EXPECT_EQ(result.exit_status, kScenarioFailed) << describe(result);
  EXPECT_NE(result.err.find("step 2 of 2 (/scenario/1: exit with status 3) failed: the run ended with status 0"),
            std::string::npos)
      << describe(result);

  const auto passes = write_config("scenario-passes.json", R"json({
    "cmdline": "tasks=1 runtime_ms=200 progress_ms=0", "vcpus": 1,
    "scenario": [{"expect": "total ticks=(\\d+)"}, {"exit": {"status": 0}}]})json");
  result = run_scenario_file(passes);
  EXPECT_EQ(result.exit_status, 0) << describe(result);
}

// examples/scenarios/lab: a user's own Multiboot kernel graded like a lab by
// `vmm test`; the same grader with a wrong expected sum fails on that step.
TEST(Scenario, TheLabExampleGradesAUsersOwnKernel) {
  REQUIRE_KVM();
  std::ifstream source(std::string(VMM_SOURCE_DIR) + "/examples/scenarios/lab/grade.json");
  std::string grade((std::istreambuf_iterator<char>(source)), std::istreambuf_iterator<char>());
  const std::string relative = "../../../build/examples/lab-kernel.elf";
  ASSERT_NE(grade.find(relative), std::string::npos);
  grade.replace(grade.find(relative), relative.size(), VMM_LAB_KERNEL);  // this build's, wherever it is
  const auto good = write_config("lab-grade.json", grade);
  auto result = run_vmm({"test", good});
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_NE(result.out.find("1 passed, 0 failed"), std::string::npos) << describe(result);

  std::string wrong = grade;
  wrong.replace(wrong.find("5050"), 4, "5051");
  result = run_vmm({"test", write_config("lab-wrong.json", wrong)});
  EXPECT_EQ(result.exit_status, 1) << describe(result);
  EXPECT_NE(result.out.find("scenario: step 2 of 3 (/scenario/1: expect /lab: sum"), std::string::npos)
      << describe(result);
}

TEST(Scenario, ABadStepIsAnInputErrorWithItsPath) {
  const auto path = write_config("scenario-bad.json", R"json({"scenario": [{"expect": "(unclosed"}]})json");
  const auto result = run_scenario_file(path);
  EXPECT_EQ(result.exit_status, 2) << describe(result);
  EXPECT_NE(result.err.find("/scenario/0/expect: not a regular expression (ECMAScript)"), std::string::npos)
      << describe(result);
}

}  // namespace
}  // namespace vmm::testing
