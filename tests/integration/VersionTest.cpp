// `vmm --version` and `vmm version --json` say which vmm this is: CMake's
// project version, the git description of the tree it was built from, and the
// host's KVM API version.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

// `git describe` of the source tree, as the build ran it; empty outside git.
std::string git_describe() {
  const std::string command = std::string("git -C ") + VMM_SOURCE_DIR + " describe --always --dirty --tags 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return "";
  std::array<char, 256> line{};
  if (!std::fgets(line.data(), line.size(), pipe.get())) return "";
  std::string text(line.data());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

TEST(Version, JsonNamesTheProjectVersionTheGitTreeAndTheKvmApi) {
  const auto result = run_vmm({"version", "--json"});
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_EQ(report["name"], "vmm");
  EXPECT_EQ(report["version"], VMM_PROJECT_VERSION);
  // The tree may have changed since the build (an edit, a commit); the
  // description then differs, so compare only when the build is current.
  const std::string git = git_describe();
  if (!git.empty() && git.find("dirty") == std::string::npos && report["git"] != git)
    ADD_FAILURE() << "built from " << report["git"] << ", the tree is at " << git << " (rebuild?)";
  EXPECT_FALSE(report["git"].get<std::string>().empty());
  EXPECT_EQ(report["build"]["static"], report["build"]["sanitizers"] == "");
  if (kvm_unusable_reason().empty()) {
    EXPECT_EQ(report["kvm"]["api_version"], 12) << result.out;  // KVM_API_VERSION, stable since Linux 2.6.22
  } else {
    EXPECT_FALSE(report["kvm"]["error"].get<std::string>().empty()) << result.out;
  }
}

TEST(Version, TheFlagPrintsTheSameAsTheCommand) {
  const auto flag = run_vmm({"--version"});
  const auto command = run_vmm({"version"});
  ASSERT_EQ(flag.exit_status, 0) << describe(flag);
  ASSERT_EQ(command.exit_status, 0) << describe(command);
  EXPECT_EQ(flag.out, command.out);
  EXPECT_EQ(flag.out.rfind(std::string("vmm ") + VMM_PROJECT_VERSION + " (git ", 0), 0u) << flag.out;
  const bool kvm = kvm_unusable_reason().empty();
  EXPECT_NE(flag.out.find(kvm ? "\nKVM API version 12 (/dev/kvm)\n" : "\nKVM: "), std::string::npos) << flag.out;
}

}  // namespace
}  // namespace vmm::testing
