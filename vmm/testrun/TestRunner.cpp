#include "vmm/testrun/TestRunner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "vmm/Errors.h"

namespace vmm::testrun {

namespace fs = std::filesystem;

std::vector<fs::path> collect(const std::vector<fs::path>& paths) {
  std::vector<fs::path> files;
  for (const auto& path : paths) {
    std::error_code error;
    if (fs::is_directory(path, error)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::directory_iterator(path))
        if (entry.is_regular_file() && entry.path().extension() == ".json") found.push_back(entry.path());
      if (found.empty()) throw InputError(path.string() + ": no scenario files (*.json) in this folder");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(path, error)) {
      files.push_back(path);
    } else {
      throw InputError(path.string() + ": no such file or folder");
    }
  }
  return files;
}

std::string failure_line(int exit_status, bool timed_out, const std::string& stderr_text) {
  if (timed_out) return "timed out";
  std::istringstream lines(stderr_text);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (line.rfind("vmm: scenario: ", 0) == 0) return line.substr(5);
    if (line.rfind("vmm: ", 0) == 0) last = line.substr(5);
  }
  return "exit status " + std::to_string(exit_status) + (last.empty() ? "" : ": " + last);
}

namespace {

std::string xml_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no control characters but tab, newline and return.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
          out += '?';
        else
          out += static_cast<char>(c);
    }
  }
  return out;
}

std::string seconds(std::chrono::milliseconds ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(ms.count()) / 1000.0);
  return text;
}

// One scenario: `vmm run FILE`, its output in a file (no pipe to fill up),
// killed at the timeout.
Outcome run_one(const Options& options, const fs::path& file) {
  Outcome outcome;
  outcome.file = file;
  outcome.name = file.stem().string();
  char output_path[] = "/tmp/vmm-test-XXXXXX";
  const int output = ::mkstemp(output_path);
  if (output < 0) throw HostError("vmm test: cannot create a temporary file: " + std::string(std::strerror(errno)));
  ::unlink(output_path);
  char error_path[] = "/tmp/vmm-test-XXXXXX";
  const int errors = ::mkstemp(error_path);
  if (errors < 0) {
    ::close(output);
    throw HostError("vmm test: cannot create a temporary file: " + std::string(std::strerror(errno)));
  }
  ::unlink(error_path);

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(output, STDOUT_FILENO);
    ::dup2(errors, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    const std::string binary = options.vmm.string(), config = file.string();
    ::execl(binary.c_str(), binary.c_str(), "run", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid < 0) {
    ::close(output);
    ::close(errors);
    throw HostError("vmm test: fork failed: " + std::string(std::strerror(errno)));
  }
  int status = 0;
  bool signalled = false;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    const auto waited = std::chrono::steady_clock::now() - start;
    if (!signalled && waited > options.timeout) {
      outcome.timed_out = true;
      ::kill(pid, SIGTERM);  // vmm stops the VM and flushes its output
      signalled = true;
    } else if (signalled && waited > options.timeout + std::chrono::seconds(10)) {
      ::kill(pid, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  outcome.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  outcome.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](int fd) {
    std::string text;
    char buffer[65536];
    ::lseek(fd, 0, SEEK_SET);
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    ::close(fd);
    return text;
  };
  const std::string out = slurp(output), err = slurp(errors);
  outcome.passed = !outcome.timed_out && outcome.exit_status == 0;
  if (!outcome.passed) outcome.failure = failure_line(outcome.exit_status, outcome.timed_out, err);
  outcome.output = out + (err.empty() ? "" : "--- stderr ---\n" + err);
  return outcome;
}

}  // namespace

std::string junit_xml(const std::vector<Outcome>& outcomes, std::chrono::milliseconds total) {
  const auto failures = std::count_if(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return !o.passed; });
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites name=\"vmm test\" tests=\"" + std::to_string(outcomes.size()) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"0\" time=\"" + seconds(total) + "\">\n";
  xml += "  <testsuite name=\"vmm test\" tests=\"" + std::to_string(outcomes.size()) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"0\" skipped=\"0\" time=\"" + seconds(total) + "\">\n";
  for (const auto& o : outcomes) {
    xml += "    <testcase classname=\"" + xml_escape(o.file.parent_path().string()) + "\" name=\"" +
           xml_escape(o.name) + "\" file=\"" + xml_escape(o.file.string()) + "\" time=\"" + seconds(o.elapsed) + "\"";
    if (o.passed) {
      xml += "/>\n";
      continue;
    }
    xml += ">\n      <failure message=\"" + xml_escape(o.failure) + "\" type=\"" +
           (o.timed_out ? "timeout" : "exit status " + std::to_string(o.exit_status)) + "\">" +
           xml_escape(o.output) + "</failure>\n    </testcase>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

int run(const Options& options) {
  const std::vector<fs::path> files = collect(options.paths);
  unsigned jobs = options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = std::min<unsigned>(jobs, static_cast<unsigned>(files.size()));
  if (!options.logs.empty()) fs::create_directories(options.logs);

  std::vector<Outcome> outcomes(files.size());
  std::atomic<std::size_t> next{0};
  std::mutex print;
  std::size_t reported = 0;
  if (options.tap) std::printf("1..%zu\n", files.size());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
      try {
        outcomes[i] = run_one(options, files[i]);
      } catch (const std::exception& error) {  // the host refused a file or a process
        outcomes[i].file = files[i];
        outcomes[i].name = files[i].stem().string();
        outcomes[i].exit_status = 120;
        outcomes[i].failure = error.what();
      }
      const Outcome& o = outcomes[i];
      std::lock_guard lock(print);
      ++reported;
      if (!o.passed && !options.logs.empty()) std::ofstream(options.logs / (o.name + ".log")) << o.output;
      if (options.tap)  // the time and the reason as diagnostics: "# X" on the test line would be a directive
        std::printf("%s %zu - %s\n# %s s%s%s\n", o.passed ? "ok" : "not ok", reported, o.file.string().c_str(),
                    seconds(o.elapsed).c_str(), o.passed ? "" : ": ", o.failure.c_str());
      else
        std::printf("%s  %-40s %8s s%s%s\n", o.passed ? "PASS" : "FAIL", o.file.string().c_str(),
                    seconds(o.elapsed).c_str(), o.passed ? "" : "  ", o.failure.c_str());
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  const auto total = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);

  const auto failed = std::count_if(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return !o.passed; });
  if (!options.junit.empty()) {
    std::ofstream junit(options.junit);
    junit << junit_xml(outcomes, total);
    if (!junit) throw InputError(options.junit.string() + ": cannot write the JUnit file");
  }
  std::printf("%s%zu passed, %ld failed (%s s, -j %u)\n", options.tap ? "# " : "",
              files.size() - static_cast<std::size_t>(failed), static_cast<long>(failed), seconds(total).c_str(), jobs);
  return failed ? 1 : 0;
}

}  // namespace vmm::testrun
