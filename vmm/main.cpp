// vmm: a small KVM virtual machine monitor. `vmm run [CONFIG]` boots a Multiboot
// kernel (the bundled one by default) and exits with the guest's status.

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "vmm/Config.h"
#include "vmm/Embedded.h"
#include "vmm/Errors.h"
#include "vmm/ExitStatus.h"
#include "vmm/FileUtil.h"
#include "vmm/Machine.h"
#include "vmm/Platform.h"
#include "vmm/VersionReport.h"
#include "vmm/boot/FirmwareTables.h"
#include "vmm/control/ControlClient.h"
#include "vmm/control/StatsReport.h"
#include "vmm/debug/GdbEndpoint.h"
#include "vmm/profile/Profile.h"
#include "vmm/profile/Sampler.h"
#include "vmm/profile/Symbols.h"
#include "vmm/testrun/TestRunner.h"
#include "vmm/trace/TraceSummary.h"

namespace {

using namespace vmm;

constexpr std::uint64_t kMaxConfigBytes = 1 << 20;
constexpr std::uint64_t kMaxKernelBytes = 512ull << 20;

struct RunOptions {
  std::string config_path;
  std::string kernel;
  std::string initrd;
  std::optional<std::string> cmdline;
  std::string memory;
  std::optional<long long> vcpus;
  std::string timeout;
  std::string serial;
  std::string pit;
  std::string inject;
  std::string stats;
  std::string control;
  bool print_routing = false;
  bool print_mptable = false;
  bool no_seccomp = false;
  std::string gdb;
  bool gdb_wait = false;
  std::string trace;
  std::optional<double> trace_buffer_mib;
  std::string profile;
  std::string profile_symbols;
  std::optional<long long> profile_hz;
};

// "256", "256M", "2G" -> MiB.
std::uint64_t parse_memory(const std::string& text) {
  std::size_t end = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &end);
  } catch (const std::exception&) {
    throw InputError("--memory " + text + ": expected a size in MiB, such as 256 or 256M or 2G");
  }
  const std::string unit = text.substr(end);
  if (unit.empty() || unit == "M" || unit == "MiB") return value;
  if (unit == "G" || unit == "GiB") return value * 1024;
  throw InputError("--memory " + text + ": unknown unit \"" + unit + "\" (use M or G)");
}

// "500ms", "2s", "1.5" (seconds) -> milliseconds.
std::chrono::milliseconds parse_timeout(const std::string& text) {
  std::size_t end = 0;
  double value = 0;
  try {
    value = std::stod(text, &end);
  } catch (const std::exception&) {
    throw InputError("--timeout " + text + ": expected a duration such as 5, 5s or 500ms");
  }
  const std::string unit = text.substr(end);
  double ms;
  if (unit.empty() || unit == "s")
    ms = value * 1000;
  else if (unit == "ms")
    ms = value;
  else
    throw InputError("--timeout " + text + ": unknown unit \"" + unit + "\" (use s or ms)");
  if (!(ms > 0) || ms > 365.0 * 24 * 3600 * 1000) throw InputError("--timeout " + text + ": must be positive and under a year");
  return std::chrono::milliseconds(static_cast<long long>(ms + 0.5));
}

int run_vm(const RunOptions& options) {
  VmConfig config;
  if (options.config_path.empty()) {
    config = parse_config(embedded::default_config(), "default config", std::filesystem::current_path());
  } else {
    const std::filesystem::path path(options.config_path);
    const auto bytes = read_input_file(path, "config", kMaxConfigBytes);
    const std::string text(bytes.begin(), bytes.end());
    config = parse_config(text, path.string(), std::filesystem::absolute(path).parent_path());
  }
  if (!options.kernel.empty()) config.kernel = std::filesystem::absolute(options.kernel);
  if (!options.initrd.empty()) {  // replaces the config's modules, as the one module
    config.initrd = std::filesystem::absolute(options.initrd);
    config.modules.clear();
  }
  if (options.cmdline) config.cmdline = *options.cmdline;
  if (!options.memory.empty()) {
    config.memory_mib = parse_memory(options.memory);
    validate_memory_mib(config.memory_mib, "--memory");
  }
  if (options.vcpus) {
    validate_vcpus(*options.vcpus, "--vcpus");
    config.vcpus = static_cast<unsigned>(*options.vcpus);
  }
  if (!options.timeout.empty()) config.timeout = parse_timeout(options.timeout);
  if (!options.serial.empty()) config.serial = parse_serial_option(options.serial);
  if (options.pit == "user") config.pit.backend = PitConfig::Backend::User;
  if (options.pit == "kvm") config.pit.backend = PitConfig::Backend::Kvm;

  if (!options.control.empty()) config.control = std::filesystem::absolute(options.control);
  if (options.no_seccomp) config.seccomp = false;
  if (!options.gdb.empty()) {
    if (!debug::parse_gdb_endpoint(options.gdb))
      throw InputError("--gdb " + options.gdb + ": expected " + debug::kGdbEndpointForms);
    config.gdb = options.gdb;
  }
  if (options.gdb_wait) config.gdb_wait = true;
  if (!options.trace.empty()) config.trace.file = std::filesystem::absolute(options.trace);
  if (options.trace_buffer_mib) {
    validate_trace_buffer_mib(*options.trace_buffer_mib, "--trace-buffer");
    if (config.trace.file.empty()) throw InputError("--trace-buffer: needs --trace FILE (or trace.file in the config)");
    config.trace.buffer_mib = *options.trace_buffer_mib;
  }
  if (!options.profile.empty()) config.profile.file = std::filesystem::absolute(options.profile);
  if (!options.profile_symbols.empty()) {
    if (config.profile.file.empty()) throw InputError("--profile-symbols: needs --profile FILE");
    config.profile.symbols = std::filesystem::absolute(options.profile_symbols);
  }
  if (options.profile_hz) {
    if (config.profile.file.empty()) throw InputError("--profile-hz: needs --profile FILE");
    if (*options.profile_hz < profile::Sampler::kMinHz || *options.profile_hz > profile::Sampler::kMaxHz)
      throw InputError("--profile-hz " + std::to_string(*options.profile_hz) + ": expected " +
                       std::to_string(profile::Sampler::kMinHz) + " to " + std::to_string(profile::Sampler::kMaxHz));
    config.profile.hz = static_cast<unsigned>(*options.profile_hz);
  }
  if (config.gdb_wait && config.gdb.empty()) config.gdb = "tcp:127.0.0.1:1234";  // QEMU's -S with -s
  if (!options.inject.empty()) {
    const auto bytes = read_input_file(options.inject, "injection timeline", kMaxConfigBytes);
    auto events = parse_inject_file(std::string(bytes.begin(), bytes.end()), options.inject, config.irq_lines);
    config.inject.insert(config.inject.end(), events.begin(), events.end());
  }

  if (options.print_routing || options.print_mptable) {
    const auto routing = InterruptLines::routing_for(config.irq_lines, platform::device_gsis());
    if (options.print_routing) std::fputs(routing.format().c_str(), stdout);
    if (options.print_mptable) {
      const Kvm kvm;  // the processor entries carry the CPU signature and features KVM gives the vCPUs
      std::fputs(mp_table_for(config, routing, kvm.supported_cpuid()).format().c_str(), stdout);
    }
    return exit_status::kSuccess;
  }

  KernelImage kernel;
  if (config.kernel) {
    kernel.name = config.kernel->string();
    kernel.bytes = read_input_file(*config.kernel, "kernel", kMaxKernelBytes);
  } else {
    kernel.name = "vmm-guest";
    const auto image = embedded::guest_kernel();
    kernel.bytes.assign(image.begin(), image.end());
  }
  // Opened before the run, so a bad path is reported before the guest starts.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> stats_file(nullptr, std::fclose);
  if (!options.stats.empty()) {
    stats_file.reset(std::fopen(options.stats.c_str(), "w"));
    if (!stats_file) throw InputError("--stats " + options.stats + ": " + std::strerror(errno));
  }
  // The symbols and the file before the run too, while the kernel's bytes are here.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> profile_file(nullptr, std::fclose);
  profile::Symbols symbols;
  if (!config.profile.file.empty()) {
    profile_file.reset(std::fopen(config.profile.file.c_str(), "w"));
    if (!profile_file) throw InputError("--profile " + config.profile.file.string() + ": " + std::strerror(errno));
    symbols = config.profile.symbols.empty() ? profile::Symbols::from_elf(kernel.bytes, "kernel " + kernel.name)
                                             : profile::Symbols::from_file(config.profile.symbols);
  }
  Machine machine(config, kernel);
  // Loaded: a vmlinux's 60-odd MiB need not stay resident for the whole run.
  std::vector<std::uint8_t>().swap(kernel.bytes);
  const int status = machine.run();
  if (const auto* sampler = machine.profile()) {
    const auto report = profile::make_report(sampler->samples(), symbols, sampler->elapsed(), sampler->hz());
    std::fputs(report.folded.c_str(), profile_file.get());
    std::fputs(report.summary.c_str(), stderr);
    if (symbols.size() == 0)
      std::fputs(config.profile.symbols.empty()
                     ? "profile: the kernel image has no symbol table: addresses are raw (--profile-symbols FILE "
                       "names them)\n"
                     : ("profile: " + config.profile.symbols.string() +
                        " has no symbol table: addresses are raw (a stripped ELF names nothing; give a System.map "
                        "or kallsyms)\n").c_str(),
                 stderr);
  }
  if (stats_file) {
    auto stats = machine.stats();
    stats["exit_status"] = status;
    std::fputs((stats.dump(2) + "\n").c_str(), stats_file.get());
  }
  return status;
}

struct ClientOptions {
  std::string control;
  std::string line;
  std::uint64_t count = 1;
  std::uint64_t interval_us = 0;
  bool wait_for_ack = false;
  std::string command;
  bool json = false;
};

// Prints the answer as JSON or for a person; exit 0 when the VM said ok.
int report(const nlohmann::json& answer, bool json) {
  if (json) {
    std::printf("%s\n", answer.dump().c_str());
  } else if (!answer.value("ok", false)) {
    std::fprintf(stderr, "vmm: the VM refused: %s\n", answer.value("error", std::string("?")).c_str());
  } else if (answer.contains("stats")) {
    std::fputs(format_stats(answer["stats"]).c_str(), stdout);
  } else if (answer.contains("scheduled")) {
    std::printf("scheduled %llu injection(s)\n", static_cast<unsigned long long>(answer["scheduled"].get<std::uint64_t>()));
  } else {
    std::printf("ok\n");
  }
  return answer.value("ok", false) ? 0 : 1;
}

int run_inject(const ClientOptions& options) {
  nlohmann::json request = {{"cmd", "inject"}, {"line", options.line}, {"count", options.count},
                            {"interval_us", options.interval_us}, {"wait_for_ack", options.wait_for_ack}};
  return report(control_request(options.control, request), options.json);
}

int run_ctl(const ClientOptions& options) {
  return report(control_request(options.control, {{"cmd", options.command}}), options.json);
}

struct TraceOptions {
  std::string file;
  bool json = false;
};

constexpr std::uint64_t kMaxTraceBytes = 4ull << 30;

// `vmm trace summary FILE`: the trace's tables (or their JSON) on stdout.
int run_trace_summary(const TraceOptions& options) {
  const auto bytes = read_input_file(options.file, "trace", kMaxTraceBytes);
  trace::TraceSummary summary;
  try {
    summary = trace::summarize_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const std::invalid_argument& e) {
    throw InputError("trace " + options.file + ": " + e.what());
  }
  if (options.json)
    std::printf("%s\n", trace::summary_json(summary).dump(2).c_str());
  else
    std::fputs(trace::format_summary(summary).c_str(), stdout);
  return exit_status::kSuccess;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vmm: a small KVM virtual machine monitor"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return VersionReport::probe().text(); },
                       "Print the version, the git description of the build and the host's KVM API version, and exit");

  RunOptions options;
  auto* run = app.add_subcommand("run", "Boot a VM; without CONFIG, the bundled kernel with the default config");
  run->add_option("config", options.config_path, "VM config (JSON); relative paths in it are relative to its folder");
  run->add_option("--kernel", options.kernel, "Kernel image (Multiboot, bzImage or vmlinux) instead of the config's or the bundled one");
  run->add_option("--initrd", options.initrd, "Initial ramdisk of a Linux kernel; for a Multiboot kernel, its one module (as QEMU's -initrd)");
  run->add_option("--cmdline", options.cmdline, "Kernel command line");
  run->add_option("--memory", options.memory, "Guest memory in MiB (suffix M or G accepted)");
  run->add_option("--vcpus", options.vcpus, "Number of vCPUs");
  run->add_option("--timeout", options.timeout, "Stop the guest after this long (5, 5s, 500ms); exit status 124");
  run->add_option("--serial", options.serial, "COM1 backend: stdio (default), file:PATH or socket:PATH");
  run->add_option("--pit", options.pit, "8254 PIT: user (our model, default) or kvm (KVM_CREATE_PIT2)")
      ->check(CLI::IsMember({"user", "kvm"}));
  run->add_option("--inject", options.inject, "Injection timeline (JSON), added to the config's");
  run->add_option("--stats", options.stats, "Write the run's counters as JSON to this file at exit");
  run->add_option("--control", options.control, "Listen for control requests on this Unix socket");
  run->add_option("--gdb", options.gdb,
                  "GDB remote stub on tcp:HOST:PORT, tcp::PORT or unix:PATH (gdb: target remote ...)");
  run->add_flag("--gdb-wait", options.gdb_wait,
                "Hold every vCPU before its first instruction until GDB continues (default --gdb tcp::1234)");
  run->add_option("--trace", options.trace,
                  "Write a timeline of exits, injections, guest interrupts and task switches to FILE, in the "
                  "Chrome/Perfetto trace-event JSON format (docs/tracing.md)");
  run->add_option("--trace-buffer", options.trace_buffer_mib,
                  "MiB of memory the trace buffers may use (default 16; 0.0625 to 4096); events beyond are dropped "
                  "and counted");
  run->add_option("--profile", options.profile,
                  "Sample every vCPU's RIP and write the counts by symbol to this file at exit, as folded stacks "
                  "(vcpuN;ringR;symbol COUNT), with a top-20 table on stderr (docs/profiling.md)");
  run->add_option("--profile-symbols", options.profile_symbols,
                  "ELF file, System.map or kallsyms naming the profile's addresses (default: the kernel image's "
                  "own symbol table)");
  run->add_option("--profile-hz", options.profile_hz, "Profiler samples per second per vCPU (default 1000; 1 to 10000)");
  run->add_flag("--no-seccomp", options.no_seccomp,
                "Run without the per-thread system call filters (docs/seccomp.md); for diagnosis");
  run->add_flag("--print-routing", options.print_routing, "Print the GSI routing table and exit");
  run->add_flag("--print-mptable", options.print_mptable,
                "Print the MP table the guest gets (CPUs, IOAPIC, interrupt entries) and exit");

  ClientOptions client;
  auto* inject = app.add_subcommand("inject", "Inject interrupts into a running VM through its control socket");
  inject->add_option("--control", client.control, "The VM's control socket")->required();
  inject->add_option("--line", client.line, "Line name or GSI")->required();
  inject->add_option("--count", client.count, "How many (default 1)");
  inject->add_option("--interval-us", client.interval_us, "Microseconds between them");
  inject->add_flag("--wait-for-ack", client.wait_for_ack,
                   "Never inject while the guest has not acknowledged the line's previous injection");
  inject->add_flag("--json", client.json, "Print the VM's JSON answer");
  auto* ctl = app.add_subcommand("ctl", "Query or steer a running VM through its control socket");
  ctl->add_option("--control", client.control, "The VM's control socket")->required();
  ctl->add_option("command", client.command, "stats, pause, resume, nmi or stop")
      ->required()
      ->check(CLI::IsMember({"stats", "pause", "resume", "nmi", "stop"}));
  ctl->add_flag("--json", client.json, "Print the VM's JSON answer");
  TraceOptions trace_options;
  auto* trace_command = app.add_subcommand("trace", "Read a trace written by vmm run --trace");
  trace_command->require_subcommand(1);
  auto* trace_summary = trace_command->add_subcommand("summary", "Interrupt paths, exits, ports and guest events as tables");
  trace_summary->add_option("file", trace_options.file, "The trace (Chrome/Perfetto trace-event JSON)")->required();
  trace_summary->add_flag("--json", trace_options.json, "Print the summary as JSON");
  testrun::Options test_options;
  std::string test_timeout = "300s";
  auto* test = app.add_subcommand("test", "Run scenario files (configs with a \"scenario\") as separate VMs, with a verdict each");
  test->add_option("paths", test_options.paths, "Scenario files, or folders of them (*.json)")->required();
  test->add_option("-j,--jobs", test_options.jobs, "How many VMs at once (default: the number of CPUs)");
  test->add_option("--timeout", test_timeout, "Per scenario (5, 5s, 500ms; default 300s): then it fails");
  test->add_option("--junit", test_options.junit, "Write JUnit XML here (GitHub, GitLab, Jenkins read it)");
  test->add_flag("--tap", test_options.tap, "Print TAP (Test Anything Protocol) instead of the PASS/FAIL lines");
  test->add_option("--logs", test_options.logs, "Keep the console of each failed scenario in this folder (NAME.log)");
  bool version_json = false;
  auto* version = app.add_subcommand("version", "Print what --version prints; --json for tools");
  version->add_flag("--json", version_json, "As JSON: version, git, build, kvm.api_version or kvm.error");

  auto is_command = [&](const char* name) {
    for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; }))
      if (command->check_name(name)) return true;
    return false;
  };
  if (argc >= 2 && argv[1][0] != '-' && !is_command(argv[1])) {
    std::fprintf(stderr, "vmm: unknown command \"%s\" (commands: run, test, inject, ctl, trace, version; see vmm --help)\n", argv[1]);
    return exit_status::kInputError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    std::fputs(e.what(), stdout);
    return exit_status::kSuccess;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "vmm: %s (see vmm %s--help)\n", e.what(), app.get_subcommands().empty() ? "" : (app.get_subcommands().front()->get_name() + " ").c_str());
    return exit_status::kInputError;
  }

  try {
    if (app.got_subcommand("inject")) return run_inject(client);
    if (app.got_subcommand("ctl")) return run_ctl(client);
    if (app.got_subcommand("trace")) return run_trace_summary(trace_options);
    if (app.got_subcommand("test")) {
      const auto ms = parse_timeout(test_timeout);
      test_options.timeout = std::chrono::duration_cast<std::chrono::seconds>(ms + std::chrono::milliseconds(999));
      test_options.vmm = std::filesystem::read_symlink("/proc/self/exe");
      return testrun::run(test_options);
    }
    if (app.got_subcommand("version")) {
      const auto report = VersionReport::probe();
      std::fputs(version_json ? (report.json().dump(2) + "\n").c_str() : report.text().c_str(), stdout);
      return exit_status::kSuccess;
    }
    return run_vm(options);
  } catch (const InputError& e) {
    std::fprintf(stderr, "vmm: %s\n", e.what());
    return exit_status::kInputError;
  } catch (const HostError& e) {
    std::fprintf(stderr, "vmm: %s\n", e.what());
    return exit_status::kHostError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmm: internal error: %s\n", e.what());
    return exit_status::kHostError;
  }
}
