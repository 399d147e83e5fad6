// Bad input of every kind gets one line on stderr naming the problem and exit
// status 2: never a crash, never a hang.

#include <gtest/gtest.h>
#include <unistd.h>

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
  const auto unknown = write_temp("unknown.json", "{\"kernal\": \"x\"}");
  expect_input_error({"run", unknown}, unknown + ": /kernal: unknown key");
  const auto wrong_type = write_temp("wrong_type.json", "{\"serial\": {\"backend\": 3}}");
  expect_input_error({"run", wrong_type}, wrong_type + ": /serial/backend: expected a string, got a number");
  const auto bad_vcpus = write_temp("bad_vcpus.json", "{\"vcpus\": 0}");
  expect_input_error({"run", bad_vcpus}, bad_vcpus + ": /vcpus: must be between 1 and 64");
  const auto too_many_vcpus = write_temp("too_many_vcpus.json", "{\"vcpus\": 65}");
  expect_input_error({"run", too_many_vcpus}, too_many_vcpus + ": /vcpus: must be between 1 and 64, got 65");
}

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
}

TEST(BadInput, KernelProblems) {
  expect_input_error({"run", "--kernel", "/nonexistent/kernel.elf"}, "kernel /nonexistent/kernel.elf: No such file");
  const auto garbage = write_temp("garbage.bin", std::string(100000, '\x90'));
  expect_input_error({"run", "--kernel", garbage}, "not a Multiboot v1 image");
  expect_input_error({"run", "--initrd", "/nonexistent/initrd"}, "module /nonexistent/initrd: No such file");
}

TEST(BadInput, MemoryTooSmallForTheKernel) {
  expect_input_error({"run", "--memory", "2"}, "outside guest RAM (2 MiB)");
}

}  // namespace
}  // namespace vmm::testing
