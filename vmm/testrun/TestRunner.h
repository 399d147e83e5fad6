#pragma once
// `vmm test FILE|DIR...`: scenario files (configs with a "scenario",
// docs/scenarios.md) run as separate VMs, -j at once, one line per scenario
// as each ends, JUnit XML and TAP for CI systems, the console of each failure
// kept, and a last line "N passed, N failed". No retries: a scenario that
// fails once is a failure.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace vmm::testrun {

struct Options {
  std::vector<std::filesystem::path> paths;  // files, and folders of *.json
  unsigned jobs = 0;                         // 0: the number of CPUs
  std::chrono::seconds timeout{300};         // per scenario
  std::filesystem::path junit;               // empty: none
  bool tap = false;
  std::filesystem::path logs;                // empty: failures' consoles not kept
  std::filesystem::path vmm;                 // the binary that runs each one
};

struct Outcome {
  std::filesystem::path file;
  std::string name;
  bool passed = false;
  int exit_status = 0;
  bool timed_out = false;
  std::chrono::milliseconds elapsed{0};
  std::string failure;  // the failed step's line, or what ended the run
  std::string output;   // vmm's stdout then stderr
};

// The scenario files the paths name, in order (a folder's *.json sorted);
// throws InputError for a path that does not exist or names no scenario.
std::vector<std::filesystem::path> collect(const std::vector<std::filesystem::path>& paths);
// The one line of vmm's stderr that says why a run failed.
std::string failure_line(int exit_status, bool timed_out, const std::string& stderr_text);
// JUnit XML (the format GitHub, GitLab and Jenkins read).
std::string junit_xml(const std::vector<Outcome>& outcomes, std::chrono::milliseconds total);

// Runs them; returns vmm test's exit status: 0 when all passed, 1 otherwise.
int run(const Options& options);

}  // namespace vmm::testrun
