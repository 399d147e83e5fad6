#pragma once
// The VM configuration: parsed from JSON, validated up front, every error naming
// the JSON path of the value at fault. Relative paths are resolved against the
// config file's folder.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmm/scenario/ScenarioStep.h"

#include "irq/InterruptLines.h"
#include "vmm/kvm/CpuidFilter.h"

namespace vmm {

struct ModuleConfig {
  std::filesystem::path path;
  std::string cmdline;
};

struct SerialConfig {
  enum class Backend { Stdio, File, Socket };
  Backend backend = Backend::Stdio;
  std::filesystem::path path;  // File and Socket
};

struct PitConfig {
  enum class Backend { User, Kvm };
  Backend backend = Backend::User;  // Kvm: the in-kernel PIT (KVM_CREATE_PIT2), for comparison
};

// One entry of the injection timeline: at `at` after start, either a burst on a
// scripted line or text sent to the serial input.
struct InjectEvent {
  std::chrono::nanoseconds at{0};
  std::string line;  // a line's name or GSI; empty for serial input
  std::uint64_t count = 1;
  std::chrono::nanoseconds interval{0};
  bool wait_for_ack = false;  // never inject while the line's previous injection is unacknowledged
  std::string serial;
};

// --trace: where the timeline goes and how much memory its buffers may take.
struct TraceConfig {
  static constexpr double kMinBufferMib = 1.0 / 16;  // 64 KiB: a few thousand events
  static constexpr double kMaxBufferMib = 4096;
  std::filesystem::path file;  // empty: no trace
  double buffer_mib = 16;
};

// --profile: the guest sampling profiler (docs/profiling.md).
struct ProfileConfig {
  std::filesystem::path file;     // empty: no profile
  std::filesystem::path symbols;  // empty: the kernel image's own symbol table, if it has one
  unsigned hz = 1000;             // samples per second per vCPU
};

struct VmConfig {
  static constexpr std::uint64_t kMinMemoryMib = 2;
  static constexpr std::uint64_t kMaxMemoryMib = 1u << 20;  // 1 TiB
  static constexpr unsigned kMaxVcpus = 64;

  std::optional<std::filesystem::path> kernel;  // empty: the bundled kernel
  std::string cmdline;
  std::vector<ModuleConfig> modules;          // Multiboot kernels only
  std::optional<std::filesystem::path> initrd;  // Linux kernels only
  std::uint64_t memory_mib = 128;
  unsigned vcpus = 1;
  std::chrono::milliseconds timeout{0};  // 0: none
  SerialConfig serial;
  PitConfig pit;
  std::vector<InterruptLineSpec> irq_lines;  // scripted interrupt lines
  std::vector<InjectEvent> inject;           // the injection timeline
  std::vector<ScenarioStep> scenario;        // steps run against the live VM (docs/scenarios.md)
  std::filesystem::path control;             // control socket path; empty for none
  bool seccomp = true;                       // every thread under its allow-list (docs/seccomp.md)
  std::string gdb;                           // GDB stub endpoint (tcp:HOST:PORT, unix:PATH); empty for none
  bool gdb_wait = false;                     // every vCPU held before its first instruction until GDB continues
  TraceConfig trace;                         // docs/tracing.md
  ProfileConfig profile;                     // docs/profiling.md
  CpuidFilter cpuid;                         // what the guest does not see in CPUID
  bool acpi = true;                          // ACPI tables and PM registers: power-off, reset (vmm/boot/AcpiTables.h)
};

// Throws InputError("config <path>: ...") for any error. `source` names the file
// in messages; `base_dir` anchors relative paths.
VmConfig parse_config(std::string_view json_text, const std::string& source, const std::filesystem::path& base_dir);

// An injection timeline on its own (--inject FILE): a JSON array of entries, or
// an object with an "inject" array. Lines are checked against `lines`.
std::vector<InjectEvent> parse_inject_file(std::string_view json_text, const std::string& source,
                                           const std::vector<InterruptLineSpec>& lines);

// `--serial` values: "stdio", "file:PATH" or "socket:PATH" (relative to the
// current folder). Throws InputError.
SerialConfig parse_serial_option(const std::string& value);

// The same checks for values that arrive from the command line.
void validate_memory_mib(std::uint64_t mib, const std::string& where);
void validate_vcpus(long long vcpus, const std::string& where);
void validate_trace_buffer_mib(double mib, const std::string& where);

}  // namespace vmm
