#pragma once
// Turns host records and guest kernel events into Chrome/Perfetto trace-event
// JSON (the "JSON Array Format" inside an object, which ui.perfetto.dev,
// chrome://tracing and trace_processor read), streamed to a file batch by
// batch. The schema (processes, tracks, names, args) is in docs/tracing.md.
//
// It also ties one injection to its guest interrupt and to the task it woke,
// as flow events: the host's acknowledgements of a line and the guest's
// LINE_ACK events of that line happen in the same order, one for one, so the
// n-th guest acknowledgement answers the injection of the n-th host one.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "devices/Bus.h"
#include "abi/trace.h"
#include "base/UniqueFd.h"
#include "vmm/trace/Record.h"

namespace vmm::trace {

// Track ids (the JSON tid) and device line ids (Record::track of Edge/Level).
namespace tracks {
constexpr int kHostPid = 1;
constexpr int kGuestPid = 2;
constexpr std::uint32_t kEventLoop = 1;
constexpr std::uint32_t kFirstVcpu = 10;
constexpr std::uint32_t kPit = 100;
constexpr std::uint32_t kCom1 = 101;
constexpr std::uint32_t kPlatform = 102;
constexpr std::uint32_t kControl = 103;
constexpr std::uint32_t kPitTimer = 104;  // the PIT's deadlines and when they fired, apart from its edges
constexpr std::uint32_t kFirstLine = 200;
constexpr std::uint32_t kFirstGuestTasks = 1000;
constexpr std::uint32_t kFirstGuestKernel = 1100;
// Record::track of Edge and Level records.
constexpr std::uint32_t kPitLine = 0;
constexpr std::uint32_t kCom1Line = 1;
}  // namespace tracks

class TraceWriter {
 public:
  struct Line {
    std::string name;
    std::uint32_t gsi;
  };
  struct Layout {
    unsigned vcpus = 1;
    std::vector<Line> lines;
    const Bus* io_bus = nullptr;  // for the device behind a port or an address
    const Bus* mmio_bus = nullptr;
    std::vector<std::string> control_requests;  // names, by Record::a of Control records
  };
  // What the writer learnt, for the footer and the summary line.
  struct Counts {
    std::uint64_t events = 0;
    std::uint64_t guest_events = 0;
    std::uint64_t guest_switches = 0;
    std::uint64_t bad_guest_events = 0;
    std::uint64_t reordered = 0;  // clamped to keep a track's timestamps monotonic
    std::uint64_t flows_started = 0, flows_to_isr = 0, flows_to_task = 0;
    std::uint64_t unpaired_guest_acks = 0;
  };

  // Writes the header at once. `origin_ns` (CLOCK_MONOTONIC) is ts 0.
  TraceWriter(UniqueFd file, Layout layout, std::uint64_t origin_ns);

  void host(const Record& record);
  // A guest event whose TSC the caller has mapped to host time `host_ns`.
  // Events of all CPUs must come in time order: a wake-up on one CPU is tied
  // to the switch on another that follows it.
  void guest(unsigned cpu, const trace_event& event, std::uint64_t host_ns);
  // An instant on the guest's CPU 0 kernel track with `args` (the time syncs).
  void guest_note(std::uint64_t host_ns, const std::string& name, const nlohmann::json& args);

  // Sorts what was added since the last flush by time and writes it. A failed
  // write ends the trace (the run goes on); error() says why.
  void flush();
  // Closes open spans at `end_ns`, writes the footer with `other_data` added.
  void finish(std::uint64_t end_ns, nlohmann::json other_data);

  const Counts& counts() const { return counts_; }
  const std::string& error() const { return error_; }
  // Guest LINE_ACK time minus the host's time of the same acknowledgement:
  // how far the guest's mapped clock is from the host's (always > 0 if exact).
  const std::vector<std::int64_t>& clock_check_ns() const { return clock_check_ns_; }

 private:
  // An event waiting for the batch's sort; its fields after "ts", "pid" and
  // "tid" are bytes [offset, offset + length) of pending_text_.
  struct Pending {
    std::uint64_t ns;
    int pid;
    std::uint32_t tid;
    std::size_t offset;
    std::size_t length;
  };
  struct AckSlot {
    std::optional<std::uint64_t> flow;  // none: spurious, nothing to tie
    std::uint64_t host_ns;
  };
  struct GuestCpu {
    bool irq_open = false;
    std::uint64_t irq_entry_ns = 0;
    bool task_open = false;
    std::uint64_t current_task = TRACE_NO_TASK;  // as the last switch on this CPU left it
    std::optional<std::uint64_t> isr_flow;  // the flow this CPU's current ISR continues
    std::uint64_t isr_gsi = TRACE_NO_GSI;
  };

  void add(std::uint64_t ns, int pid, std::uint32_t tid, std::string_view body);
  void name_track(int pid, std::uint32_t tid);
  std::string track_name(int pid, std::uint32_t tid) const;
  const Bus::Range* device_at(const Bus* bus, std::uint64_t address) const;
  std::string line_label(std::uint32_t line) const;
  std::optional<std::size_t> line_of_gsi(std::uint64_t gsi) const;
  void exit_event(const Record& record);
  void write_out(const std::string& text);

  UniqueFd file_;
  Layout layout_;
  std::uint64_t origin_ns_;
  std::vector<Pending> pending_;
  std::string pending_text_;
  struct TrackState {
    std::uint64_t last_ns = 0;  // of what was written last
    bool named = false;
  };
  // By pid and tid: tids are small (tracks::), so a flat table, no lookup on the hot path.
  std::vector<TrackState> track_states_;
  TrackState& track_state(int pid, std::uint32_t tid);
  bool first_event_ = true;
  std::vector<std::deque<AckSlot>> acks_;  // per line
  std::vector<GuestCpu> guest_cpus_;
  std::map<std::uint64_t, std::uint64_t> wake_flows_;  // woken task -> flow
  // Flows whose ISR found no waiter: the next wait on the line takes them.
  std::map<std::uint64_t, std::deque<std::uint64_t>> waiting_flows_;  // by GSI
  void end_flow(std::uint64_t flow, std::size_t cpu, std::uint64_t ns);
  std::uint64_t pit_span_end_ = 0;
  std::vector<std::int64_t> clock_check_ns_;
  Counts counts_;
  std::string error_;
};

}  // namespace vmm::trace
