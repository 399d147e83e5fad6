#pragma once
// `vmm trace summary`: what a trace written by `vmm run --trace` says, as a
// few tables (interrupt paths per scripted line, exits, busiest ports, the
// guest's interrupts, switches and syscalls) or as JSON. Pure: it reads a
// Chrome/Perfetto trace-event JSON document (docs/tracing.md) and does no I/O,
// so the numbers are unit-tested on synthetic traces.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vmm::trace {

// Percentiles over exact samples, ranked as the Injector's histograms rank
// theirs: the value at rank round(f * n) (1-based, at least 1) of the sorted samples.
struct Latency {
  std::uint64_t samples = 0;
  std::int64_t p50_ns = 0;
  std::int64_t p99_ns = 0;
  std::int64_t max_ns = 0;
};
Latency latency_of(std::vector<std::int64_t> samples_ns);

// One scripted interrupt line (host tracks 200+i), followed along its flows:
// "s" at the injection, "t" at the guest's ISR entry, "f" when the woken task runs.
struct LineSummary {
  std::string name;
  std::optional<std::int64_t> gsi;
  std::uint64_t injections = 0;
  std::uint64_t coalesced = 0;  // the sum of the "coalesced" instants' count (1 when absent)
  std::uint64_t resamples = 0;
  std::uint64_t acks = 0;
  std::uint64_t flows = 0;  // flow starts
  Latency to_isr;           // s -> t: injection to ISR entry
  Latency to_task;          // s -> f: injection to the woken task running
};

struct ExitReasonSummary {
  std::string reason;
  std::uint64_t count = 0;
  std::int64_t total_ns = 0;  // time in exit handling (the "exit" spans' dur)
};

// Exits at one port or MMIO address in one direction.
struct PortSummary {
  std::string where;      // "port 0x3f8" or "mmio 0xfee000b0"
  std::string direction;  // "in", "out", "read", "write" or "" when the trace does not say
  std::string device;     // "" when unclaimed
  std::uint64_t count = 0;
  std::int64_t total_ns = 0;
};

struct VcpuSummary {
  std::int64_t id = 0;
  std::uint64_t runs = 0;        // KVM_RUN spans
  std::int64_t run_ns = 0;       // time inside the guest
  std::uint64_t exits = 0;
  std::int64_t exit_ns = 0;      // time in exit handling
  std::int64_t paused_ns = 0;
};

struct VectorSummary {
  std::int64_t vector = 0;
  std::optional<std::int64_t> gsi;
  std::uint64_t count = 0;
  std::int64_t total_ns = 0;  // in the handler, from matched B/E spans
};

struct GuestSummary {
  std::vector<VectorSummary> interrupts;               // by vector, ascending
  std::map<std::string, std::uint64_t> switches;       // by reason
  std::uint64_t syscalls = 0;
  std::map<std::int64_t, std::uint64_t> syscalls_by_nr;
  std::uint64_t wakes = 0;
  std::uint64_t task_starts = 0;
  std::uint64_t task_exits = 0;
};

struct TraceSummary {
  bool complete = true;        // false: the file was cut short and repaired to its last whole event
  std::uint64_t events = 0;    // trace events read (metadata included)
  std::int64_t start_ns = 0;   // first timestamp
  std::int64_t end_ns = 0;     // last timestamp or span end
  std::vector<LineSummary> lines;  // in track order
  std::vector<ExitReasonSummary> exits;  // by count, descending
  std::uint64_t kvm_runs = 0;
  std::int64_t kvm_run_ns = 0;
  std::vector<PortSummary> ports;        // the 10 busiest, by count
  std::vector<VcpuSummary> vcpus;
  GuestSummary guest;
  // From otherData, when the trace has them.
  std::optional<std::uint64_t> dropped_host_events;
  std::optional<std::uint64_t> dropped_guest_events;
  std::optional<std::uint64_t> guest_ring_errors;
  std::optional<std::uint64_t> events_written;  // otherData.events: what the writer says it wrote
  std::optional<std::uint64_t> tsc_khz;
  std::uint64_t time_syncs = 0;
  std::optional<std::int64_t> drift_ns;
};

constexpr std::size_t kTopPorts = 10;

// Parses trace text; a document cut short (the writer killed) is closed after
// its last whole event and summarised with complete = false. Throws
// std::invalid_argument with a one-line reason when nothing can be read.
TraceSummary summarize_text(std::string_view text);

// Summarises a parsed document: {"traceEvents": [...], "otherData": {...}} or a
// bare event array. Lenient: events with missing or mistyped fields are skipped
// or counted with what they have. Throws std::invalid_argument when there is no
// event array.
TraceSummary summarize(const nlohmann::json& trace);

std::string format_summary(const TraceSummary& summary);
nlohmann::json summary_json(const TraceSummary& summary);

// Closes a JSON text cut short: everything up to the last '}' or ']' that ends
// an event or the event array (or the event array's '[' when no event ended),
// followed by the brackets still open there. nullopt when the text has no such
// point.
std::optional<std::string> close_truncated(std::string_view text);

}  // namespace vmm::trace
