// `vmm test`: a folder of scenario files, run as separate VMs two at a time:
// one line per scenario, the failed one's step, JUnit XML with the right
// counts, TAP, the failure's console kept, a last line with the totals, and
// exit status 1 when any failed (0 when all passed).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

std::string scenario_folder(const std::string& name, bool with_failure) {
  const std::filesystem::path folder = scratch_path(name);
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  for (int i = 1; i <= 3; ++i)
    std::ofstream(folder / ("pass-" + std::to_string(i) + ".json")) << R"json({
      "cmdline": "tasks=1 runtime_ms=300 progress_ms=0", "vcpus": 1,
      "scenario": [{"expect": "task id=0 state=start"}, {"expect": "total ticks=\\d+"}, {"exit": {"status": 0}}]})json";
  if (with_failure)
    std::ofstream(folder / "zz-fails.json") << R"json({
      "cmdline": "tasks=1 runtime_ms=300 progress_ms=0", "vcpus": 1,
      "scenario": [{"expect": "task id=0 state=start"}, {"expect": "no such line", "timeout_ms": 60000},
                   {"exit": {"status": 0}}]})json";
  return folder.string();
}

std::string read(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(VmmTest, RunsAFolderTwoAtATimeWithJunitLogsAndAVerdict) {
  REQUIRE_KVM();
  const std::string folder = scenario_folder("vmm-test-folder", true);
  const std::string junit = scratch_path("vmm-test.xml"), logs = scratch_path("vmm-test-logs");
  std::filesystem::remove_all(logs);
  const auto result = run_vmm({"test", folder, "-j", "2", "--junit", junit, "--logs", logs, "--timeout", "240s"});
  EXPECT_EQ(result.exit_status, 1) << describe(result);
  const auto lines = lines_with_tag(result.out, "PASS");
  EXPECT_EQ(lines.size(), 3u) << describe(result);
  EXPECT_NE(result.out.find("FAIL  " + folder + "/zz-fails.json"), std::string::npos) << describe(result);
  EXPECT_NE(result.out.find("scenario: step 2 of 3 (/scenario/1: expect /no such line/) failed after"),
            std::string::npos)
      << describe(result);
  EXPECT_NE(result.out.find("\n3 passed, 1 failed ("), std::string::npos) << describe(result);
  EXPECT_NE(result.out.find(", -j 2)\n"), std::string::npos) << describe(result);

  const std::string xml = read(junit);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"vmm test\" tests=\"4\" failures=\"1\"", 0),
            0u)
      << xml;
  EXPECT_NE(xml.find("<testcase classname=\"" + folder + "\" name=\"zz-fails\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"scenario: step 2 of 3"), std::string::npos) << xml;
  EXPECT_NE(read(logs + "/zz-fails.log").find("task id=0 state=start"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(logs + "/pass-1.log")) << "only failures keep their console";
}

TEST(VmmTest, AllPassingIsStatusZeroAndTapSaysSo) {
  REQUIRE_KVM();
  const std::string folder = scenario_folder("vmm-test-passing", false);
  const auto result = run_vmm({"test", folder, "-j", "2", "--tap"});
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out.rfind("1..3\n", 0), 0u) << describe(result);
  EXPECT_NE(result.out.find("ok 3 - "), std::string::npos) << describe(result);
  EXPECT_EQ(result.out.find("not ok"), std::string::npos) << describe(result);
  EXPECT_NE(result.out.find("# 3 passed, 0 failed"), std::string::npos) << describe(result);
}

TEST(VmmTest, APathWithNoScenarioIsAnInputError) {
  const auto result = run_vmm({"test", scratch_path("no-such-folder")});
  EXPECT_EQ(result.exit_status, 2) << describe(result);
  EXPECT_NE(result.err.find("no-such-folder: no such file or folder"), std::string::npos) << describe(result);
}

}  // namespace
}  // namespace vmm::testing
