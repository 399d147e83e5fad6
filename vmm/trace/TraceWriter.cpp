#include "vmm/trace/TraceWriter.h"

#include "vmm/Hex.h"
#include "vmm/kvm/ExitReasons.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <linux/kvm.h>

namespace vmm::trace {

namespace {

constexpr const char* kFlowName = "irq path";

std::string json_string(const std::string& text) { return nlohmann::json(text).dump(); }

void append_number(std::string& text, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  text.append(digits, end);
}

void append_hex(std::string& text, std::uint64_t value) {
  char digits[24] = {'0', 'x'};
  const auto end = std::to_chars(digits + 2, digits + sizeof digits, value, 16).ptr;
  text.append(digits, end);
}

// Microseconds with nanosecond precision, as the format's "ts" and "dur" are.
void append_micros(std::string& text, std::uint64_t ns) {
  append_number(text, ns / 1000);
  const unsigned fraction = static_cast<unsigned>(ns % 1000);
  const char decimals[4] = {'.', static_cast<char>('0' + fraction / 100), static_cast<char>('0' + fraction / 10 % 10),
                            static_cast<char>('0' + fraction % 10)};
  text.append(decimals, 4);
}

std::string micros(std::uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
  return text;
}

std::string task_name(std::uint64_t task) {
  return task == TRACE_NO_TASK ? "idle" : "task " + std::to_string(task);
}

const char* switch_reason(std::uint32_t reason) {
  switch (reason) {
    case TRACE_SWITCH_SLICE: return "slice";
    case TRACE_SWITCH_BLOCK: return "block";
    case TRACE_SWITCH_WOKEN: return "woken";
    case TRACE_SWITCH_EXIT: return "exit";
    case TRACE_SWITCH_IDLE: return "idle";
    case TRACE_SWITCH_YIELD: return "yield";
    default: return "other";
  }
}

// The bundled kernel's own vectors (guest-kernel/kernel/trap.h).
const char* vector_role(std::uint32_t vector) {
  switch (vector) {
    case 0xEF: return "LAPIC timer";
    case 0xF0: return "tick IPI";
    case 0xF1: return "reschedule IPI";
    case 0xF2: return "stop IPI";
    default: return nullptr;
  }
}

std::uint64_t flow_id(std::size_t line, std::uint64_t seq) { return (static_cast<std::uint64_t>(line) + 1) << 32 | seq; }

}  // namespace

TraceWriter::TraceWriter(UniqueFd file, Layout layout, std::uint64_t origin_ns)
    : file_(std::move(file)), layout_(std::move(layout)), origin_ns_(origin_ns), acks_(layout_.lines.size()) {
  write_out("{\"traceEvents\":[\n");
  auto process = [&](int pid, const char* name) {
    add(origin_ns_, pid, 0, std::string("\"ph\":\"M\",\"name\":\"process_name\",\"args\":{\"name\":\"") + name + "\"}");
  };
  process(tracks::kHostPid, "vmm (host)");
  process(tracks::kGuestPid, "guest kernel");
}

std::string TraceWriter::track_name(int pid, std::uint32_t tid) const {
  if (pid == tracks::kGuestPid) {
    if (tid >= tracks::kFirstGuestKernel) return "CPU " + std::to_string(tid - tracks::kFirstGuestKernel) + ": kernel";
    return "CPU " + std::to_string(tid - tracks::kFirstGuestTasks) + ": tasks";
  }
  switch (tid) {
    case tracks::kEventLoop: return "event loop";
    case tracks::kPit: return "PIT";
    case tracks::kCom1: return "COM1";
    case tracks::kPlatform: return "platform";
    case tracks::kControl: return "control socket";
    case tracks::kPitTimer: return "PIT timer";
    default: break;
  }
  if (tid >= tracks::kFirstLine) return line_label(tid - tracks::kFirstLine);
  return "vCPU " + std::to_string(tid - tracks::kFirstVcpu);
}

std::string TraceWriter::line_label(std::uint32_t line) const {
  if (line >= layout_.lines.size()) return "line " + std::to_string(line);
  return "line " + layout_.lines[line].name + " (GSI " + std::to_string(layout_.lines[line].gsi) + ")";
}

TraceWriter::TrackState& TraceWriter::track_state(int pid, std::uint32_t tid) {
  const std::size_t index = static_cast<std::size_t>(pid) * 2048 + (tid & 2047);
  if (index >= track_states_.size()) track_states_.resize(index + 1);
  return track_states_[index];
}

void TraceWriter::name_track(int pid, std::uint32_t tid) {
  TrackState& state = track_state(pid, tid);
  if (state.named) return;
  state.named = true;
  const std::string body =
      "\"ph\":\"M\",\"name\":\"thread_name\",\"args\":{\"name\":" + json_string(track_name(pid, tid)) + "}";
  pending_.push_back({0, pid, tid, pending_text_.size(), body.size()});
  pending_text_ += body;
}

void TraceWriter::add(std::uint64_t ns, int pid, std::uint32_t tid, std::string_view body) {
  if (tid != 0) name_track(pid, tid);
  pending_.push_back({ns, pid, tid, pending_text_.size(), body.size()});
  pending_text_ += body;
}

const Bus::Range* TraceWriter::device_at(const Bus* bus, std::uint64_t address) const {
  if (!bus) return nullptr;
  for (const auto& range : bus->ranges())
    if (address >= range.base && address - range.base < range.size) return &range;
  return nullptr;
}

std::optional<std::size_t> TraceWriter::line_of_gsi(std::uint64_t gsi) const {
  for (std::size_t i = 0; i < layout_.lines.size(); ++i)
    if (layout_.lines[i].gsi == gsi) return i;
  return std::nullopt;
}

void TraceWriter::exit_event(const Record& record) {
  // The hot path of a trace, two events per exit: appended in place, no
  // temporaries, no printf.
  const std::uint32_t tid = tracks::kFirstVcpu + record.track;
  std::string& text = pending_text_;
  name_track(tracks::kHostPid, tid);
  std::size_t offset = text.size();
  text += "\"ph\":\"X\",\"name\":\"KVM_RUN\",\"cat\":\"vcpu\",\"dur\":";
  append_micros(text, record.a - record.start);
  pending_.push_back({record.start, tracks::kHostPid, tid, offset, text.size() - offset});

  offset = text.size();
  const char* known = exit_reason_name(record.sub);
  const char* reason = known ? known : "other";
  text += "\"ph\":\"X\",\"name\":\"exit ";
  text += reason;
  if (record.sub == KVM_EXIT_IO || record.sub == KVM_EXIT_MMIO) {
    const bool io = record.sub == KVM_EXIT_IO;
    const bool write = (record.c >> 8 & 0xff) != 0;
    const char* direction = io ? (write ? "out" : "in") : (write ? "write" : "read");
    const Bus::Range* range = device_at(io ? layout_.io_bus : layout_.mmio_bus, record.b);
    text += ' ';
    text += direction;
    text += ' ';
    append_hex(text, record.b);
    if (range) {
      text += " (";
      text += range->name;  // our own names: nothing to escape
      text += ')';
    }
    text += "\",\"cat\":\"exit\",\"dur\":";
    append_micros(text, record.end - record.a);
    text += ",\"args\":{\"reason\":\"";
    text += reason;
    text += "\",\"direction\":\"";
    text += direction;
    if (io) {
      text += "\",\"port\":";
      append_number(text, record.b);
    } else {
      text += "\",\"address\":\"";
      append_hex(text, record.b);
      text += '"';
    }
    text += ",\"size\":";
    append_number(text, record.c & 0xff);
    text += ",\"device\":\"";
    if (range) text += range->name;
    text += '"';
    if (const std::uint64_t count = record.c >> 16; count > 1) {
      text += ",\"count\":";
      append_number(text, count);
    }
    text += '}';
  } else {
    text += "\",\"cat\":\"exit\",\"dur\":";
    append_micros(text, record.end - record.a);
    text += ",\"args\":{\"reason\":\"";
    text += reason;
    text += "\"}";
  }
  pending_.push_back({record.a, tracks::kHostPid, tid, offset, text.size() - offset});
}

void TraceWriter::host(const Record& record) {
  using tracks::kHostPid;
  switch (record.kind) {
    case RecordKind::KvmRun: exit_event(record); return;
    case RecordKind::Paused:
      add(record.start, kHostPid, tracks::kFirstVcpu + record.track,
          "\"ph\":\"X\",\"name\":\"paused\",\"cat\":\"vcpu\",\"dur\":" + micros(record.end - record.start) +
              ",\"args\":{\"by\":\"" + (record.sub ? "debugger" : "pause") + "\"}");
      return;
    case RecordKind::PitDeadline: {
      // A deadline met late can start before the previous late one ended;
      // the span starts where that one ended, so the track's spans never overlap.
      const std::uint64_t start = std::max(record.start, pit_span_end_);
      const std::uint64_t end = std::max(record.end, start);
      pit_span_end_ = end;
      add(start, kHostPid, tracks::kPitTimer,
          "\"ph\":\"X\",\"name\":\"PIT deadline\",\"cat\":\"pit\",\"dur\":" + micros(end - start) +
              ",\"args\":{\"late_ns\":" + std::to_string(record.end > record.start ? record.end - record.start : 0) +
              "}");
      return;
    }
    case RecordKind::Edge:
      add(record.start, kHostPid, record.track == tracks::kPitLine ? tracks::kPit : tracks::kCom1,
          std::string("\"ph\":\"i\",\"s\":\"t\",\"name\":\"") +
              (record.track == tracks::kPitLine ? "IRQ0 edge" : "IRQ4 edge") + "\",\"cat\":\"irq\"");
      return;
    case RecordKind::Level:
      add(record.start, kHostPid, record.track == tracks::kPitLine ? tracks::kPit : tracks::kCom1,
          std::string("\"ph\":\"C\",\"name\":\"") + (record.track == tracks::kPitLine ? "PIT IRQ0" : "COM1 IRQ4") +
              "\",\"cat\":\"uart\",\"args\":{\"level\":" + std::to_string(record.a) + "}");
      return;
    case RecordKind::SerialOut:
    case RecordKind::SerialIn:
      add(record.start, kHostPid, tracks::kCom1,
          std::string("\"ph\":\"i\",\"s\":\"t\",\"name\":\"") +
              (record.kind == RecordKind::SerialOut ? "serial out" : "serial in") +
              "\",\"cat\":\"uart\",\"args\":{\"bytes\":" + std::to_string(record.a) + "}");
      return;
    case RecordKind::DebugExit:
      add(record.start, kHostPid, tracks::kPlatform,
          "\"ph\":\"i\",\"s\":\"t\",\"name\":\"debug-exit\",\"cat\":\"platform\",\"args\":{\"value\":" +
              std::to_string(record.a) + "}");
      return;
    case RecordKind::I8042Reset:
      add(record.start, kHostPid, tracks::kPlatform, "\"ph\":\"i\",\"s\":\"t\",\"name\":\"i8042 reset\",\"cat\":\"platform\"");
      return;
    case RecordKind::AcpiPowerOff:
      add(record.start, kHostPid, tracks::kPlatform, "\"ph\":\"i\",\"s\":\"t\",\"name\":\"ACPI power-off\",\"cat\":\"platform\"");
      return;
    case RecordKind::Inject: {
      if (record.track >= layout_.lines.size()) return;
      const Line& line = layout_.lines[record.track];
      const std::uint32_t tid = tracks::kFirstLine + record.track;
      add(record.start, kHostPid, tid,
          "\"ph\":\"X\",\"name\":\"inject\",\"cat\":\"line\",\"dur\":" + micros(record.end - record.start) +
              ",\"args\":{\"line\":" + json_string(line.name) + ",\"gsi\":" + std::to_string(line.gsi) +
              ",\"seq\":" + std::to_string(record.a) + (record.b ? ",\"coalesced\":true" : "") + "}");
      if (record.b) {
        add(record.start, kHostPid, tid, "\"ph\":\"i\",\"s\":\"t\",\"name\":\"coalesced\",\"cat\":\"line\",\"args\":{\"count\":1}");
        return;
      }
      // One nanosecond in, so the flow binds to the injection's slice.
      add(record.start + 1, kHostPid, tid,
          std::string("\"ph\":\"s\",\"name\":\"") + kFlowName + "\",\"cat\":\"flow\",\"id\":" +
              std::to_string(flow_id(record.track, record.a)) + ",\"args\":{\"line\":" + json_string(line.name) + "}");
      ++counts_.flows_started;
      return;
    }
    case RecordKind::Acknowledge: {
      if (record.track >= layout_.lines.size()) return;
      const std::uint32_t tid = tracks::kFirstLine + record.track;
      const bool delivered = record.b != 0;
      std::string args = std::string("\"delivered\":") + (delivered ? "true" : "false") + ",\"seq\":" +
                         std::to_string(record.a);
      if (record.sub) args += ",\"vcpu\":" + std::to_string(record.sub - 1);
      add(record.start, kHostPid, tid, "\"ph\":\"i\",\"s\":\"t\",\"name\":\"ack\",\"cat\":\"line\",\"args\":{" + args + "}");
      if (record.c)
        add(record.start, kHostPid, tid,
            "\"ph\":\"i\",\"s\":\"t\",\"name\":\"coalesced\",\"cat\":\"line\",\"args\":{\"count\":" +
                std::to_string(record.c) + "}");
      acks_[record.track].push_back(
          {delivered ? std::optional<std::uint64_t>(flow_id(record.track, record.a)) : std::nullopt, record.start});
      return;
    }
    case RecordKind::Resample:
      if (record.track >= layout_.lines.size()) return;
      add(record.start, kHostPid, tracks::kFirstLine + record.track,
          "\"ph\":\"i\",\"s\":\"t\",\"name\":\"resample\",\"cat\":\"line\"");
      return;
    case RecordKind::Control: {
      const std::string name = record.a < layout_.control_requests.size() ? layout_.control_requests[record.a] : "unknown";
      add(record.start, kHostPid, tracks::kControl,
          "\"ph\":\"X\",\"name\":" + json_string("control: " + name) + ",\"cat\":\"control\",\"dur\":" +
              micros(record.end - record.start) + ",\"args\":{\"request\":" + json_string(name) + "}");
      return;
    }
    case RecordKind::GuestSync: return;  // the session maps time with it and notes it on the guest's track
  }
}

void TraceWriter::guest_note(std::uint64_t host_ns, const std::string& name, const nlohmann::json& args) {
  add(host_ns, tracks::kGuestPid, tracks::kFirstGuestKernel,
      "\"ph\":\"i\",\"s\":\"t\",\"name\":" + json_string(name) + ",\"cat\":\"time\",\"args\":" + args.dump());
}

void TraceWriter::guest(unsigned cpu, const trace_event& event, std::uint64_t ns) {
  using tracks::kGuestPid;
  if (cpu >= TRACE_MAX_CPUS) return;
  if (guest_cpus_.size() <= cpu) guest_cpus_.resize(cpu + 1);
  GuestCpu& state = guest_cpus_[cpu];
  const std::uint32_t kernel = tracks::kFirstGuestKernel + cpu;
  const std::uint32_t tasks = tracks::kFirstGuestTasks + cpu;
  ++counts_.guest_events;
  auto instant = [&](const std::string& name, const std::string& cat, const std::string& args) {
    add(ns, kGuestPid, kernel,
        "\"ph\":\"i\",\"s\":\"t\",\"name\":" + json_string(name) + ",\"cat\":\"" + cat + "\",\"args\":{" + args + "}");
  };
  switch (event.type) {
    case TRACE_IRQ_ENTRY: {
      if (state.irq_open) add(ns, kGuestPid, kernel, "\"ph\":\"E\"");  // its exit was lost
      std::string name = "irq " + hex(event.arg0);
      std::string args = "\"vector\":" + std::to_string(event.arg0);
      if (event.arg1 != TRACE_NO_GSI) {
        name += " (GSI " + std::to_string(event.arg1) + ")";
        args += ",\"gsi\":" + std::to_string(event.arg1);
      } else if (const char* role = vector_role(event.arg0)) {
        name += std::string(" (") + role + ")";
      }
      args += ",\"interrupted\":" + json_string(task_name(event.arg2));
      add(ns, kGuestPid, kernel, "\"ph\":\"B\",\"name\":" + json_string(name) + ",\"cat\":\"guest_irq\",\"args\":{" + args + "}");
      state.irq_open = true;
      state.irq_entry_ns = ns;
      state.isr_flow.reset();
      return;
    }
    case TRACE_IRQ_EXIT:
      if (state.irq_open) add(ns, kGuestPid, kernel, "\"ph\":\"E\"");
      state.irq_open = false;
      if (state.isr_flow) waiting_flows_[state.isr_gsi].push_back(*state.isr_flow);  // it woke nobody
      state.isr_flow.reset();
      return;
    case TRACE_LINE_ACK: {
      const auto line = line_of_gsi(event.arg0);
      instant("line ack", "guest_irq",
              "\"gsi\":" + std::to_string(event.arg0) + ",\"delivered\":" + (event.arg1 == 1 ? "true" : "false"));
      if (!line) return;
      auto& queue = acks_[*line];
      if (queue.empty()) {
        ++counts_.unpaired_guest_acks;
        return;
      }
      const AckSlot slot = queue.front();
      queue.pop_front();
      clock_check_ns_.push_back(static_cast<std::int64_t>(ns) - static_cast<std::int64_t>(slot.host_ns));
      if (!slot.flow || event.arg1 != 1) return;
      add((state.irq_open ? state.irq_entry_ns : ns) + 1, kGuestPid, kernel,
          std::string("\"ph\":\"t\",\"name\":\"") + kFlowName + "\",\"cat\":\"flow\",\"id\":" + std::to_string(*slot.flow));
      ++counts_.flows_to_isr;
      state.isr_flow = slot.flow;
      state.isr_gsi = event.arg0;
      return;
    }
    case TRACE_WAKE:
      instant("wake", "sched",
              "\"task\":" + json_string(task_name(event.arg1)) + ",\"gsi\":" + std::to_string(event.arg0) + ",\"cpu\":" +
                  std::to_string(event.arg2));
      if (event.arg0 == TRACE_NO_GSI) return;  // a sleeper's timer
      if (state.irq_open && state.isr_flow) {
        const std::uint64_t flow = *state.isr_flow;
        state.isr_flow.reset();  // one wake-up per delivered interrupt
        const std::size_t target = event.arg2 < TRACE_MAX_CPUS ? event.arg2 : cpu;
        if (target < guest_cpus_.size() && guest_cpus_[target].current_task == event.arg1)
          end_flow(flow, target, ns);  // woken before it had switched away: it simply runs on
        else
          wake_flows_[event.arg1] = flow;
      } else if (!state.irq_open) {
        // A wait that found its interrupt already taken: the task runs on.
        auto& waiting = waiting_flows_[event.arg0];
        if (!waiting.empty()) {
          end_flow(waiting.front(), cpu, ns);
          waiting.pop_front();
        }
      }
      return;
    case TRACE_SWITCH: {
      ++counts_.guest_switches;
      const std::uint64_t prev = TRACE_SWITCH_TASK(event.arg1), next = TRACE_SWITCH_TASK(event.arg2);
      std::string args = "\"prev\":" + json_string(task_name(prev)) + ",\"next\":" + json_string(task_name(next)) +
                         ",\"reason\":\"" + switch_reason(event.arg0) + "\"";
      if (event.arg1 & TRACE_SWITCH_O1) {  // the O(1) scheduler's priorities and arrays
        static constexpr const char* kArrays[] = {"none", "active", "expired", "none"};
        args += ",\"prev_prio\":" + std::to_string(TRACE_SWITCH_PRIO(event.arg1)) + ",\"prev_array\":\"" +
                kArrays[TRACE_SWITCH_ARRAY(event.arg1)] + "\",\"next_prio\":" +
                std::to_string(TRACE_SWITCH_PRIO(event.arg2));
      }
      instant("switch", "sched", args);
      if (state.task_open) add(ns, kGuestPid, tasks, "\"ph\":\"E\"");
      // Under sched=o1 the slice names the priority it runs at (not the idle task's).
      std::string slice = task_name(next);
      if ((event.arg2 & TRACE_SWITCH_O1) && next != TRACE_NO_TASK)
        slice += " (prio " + std::to_string(TRACE_SWITCH_PRIO(event.arg2)) + ")";
      add(ns, kGuestPid, tasks, "\"ph\":\"B\",\"name\":" + json_string(slice) + ",\"cat\":\"task\"");
      state.task_open = true;
      state.current_task = next;
      if (const auto woken = wake_flows_.find(next); woken != wake_flows_.end()) {
        end_flow(woken->second, cpu, ns);
        wake_flows_.erase(woken);
      }
      return;
    }
    case TRACE_SYSCALL:
      instant("syscall", "syscall", "\"nr\":" + std::to_string(event.arg0) + ",\"task\":" + json_string(task_name(event.arg1)));
      return;
    case TRACE_TASK_START:
      instant("task start", "task", "\"task\":" + json_string(task_name(event.arg1)) + ",\"kind\":" + std::to_string(event.arg2));
      return;
    case TRACE_TASK_EXIT:
      instant("task exit", "task", "\"task\":" + json_string(task_name(event.arg1)));
      return;
    case TRACE_PROC_FORK:
      instant("fork", "process", "\"parent\":" + std::to_string(event.arg1) + ",\"child\":" + std::to_string(event.arg2));
      return;
    case TRACE_PROC_EXEC:
      instant("execve", "process", "\"pid\":" + std::to_string(event.arg1));
      return;
    case TRACE_PROC_EXIT:
      instant("exit", "process", "\"pid\":" + std::to_string(event.arg1) + ",\"status\":" + std::to_string(event.arg0));
      return;
    case TRACE_PROC_WAIT:
      instant("wait4", "process",
              "\"parent\":" + std::to_string(event.arg1) + ",\"child\":" + std::to_string(event.arg2) +
                  ",\"status\":" + std::to_string(event.arg0));
      return;
    default: ++counts_.bad_guest_events; --counts_.guest_events; return;
  }
}

// The woken task runs: the flow ends in its slice on `cpu`'s tasks track.
void TraceWriter::end_flow(std::uint64_t flow, std::size_t cpu, std::uint64_t ns) {
  add(ns + 1, tracks::kGuestPid, tracks::kFirstGuestTasks + static_cast<std::uint32_t>(cpu),
      std::string("\"ph\":\"f\",\"bp\":\"e\",\"name\":\"") + kFlowName + "\",\"cat\":\"flow\",\"id\":" +
          std::to_string(flow));
  ++counts_.flows_to_task;
}

void TraceWriter::flush() {
  if (pending_.empty()) return;
  std::stable_sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) { return a.ns < b.ns; });
  std::string text;
  text.reserve(pending_text_.size() + pending_.size() * 40);
  for (const auto& event : pending_) {
    std::uint64_t ns = std::max(event.ns, origin_ns_);
    std::uint64_t& last = track_state(event.pid, event.tid).last_ns;
    if (ns < last) {
      // A record pushed by one thread after the drain had passed its ring
      // while another thread's later record went out: keep the track in order.
      ns = last;
      ++counts_.reordered;
    }
    last = ns;
    if (!first_event_) text += ",\n";
    first_event_ = false;
    text += "{\"ts\":";
    append_micros(text, ns - origin_ns_);
    text += ",\"pid\":";
    append_number(text, static_cast<std::uint64_t>(event.pid));
    text += ",\"tid\":";
    append_number(text, event.tid);
    text += ',';
    text.append(pending_text_, event.offset, event.length);
    text += '}';
    ++counts_.events;
  }
  pending_.clear();
  pending_text_.clear();
  write_out(text);
}

void TraceWriter::finish(std::uint64_t end_ns, nlohmann::json other_data) {
  for (std::size_t cpu = 0; cpu < guest_cpus_.size(); ++cpu) {
    if (guest_cpus_[cpu].irq_open) add(end_ns, tracks::kGuestPid, tracks::kFirstGuestKernel + cpu, "\"ph\":\"E\"");
    if (guest_cpus_[cpu].task_open) add(end_ns, tracks::kGuestPid, tracks::kFirstGuestTasks + cpu, "\"ph\":\"E\"");
    guest_cpus_[cpu] = {};
  }
  flush();
  other_data["events"] = counts_.events;
  other_data["reordered_events"] = counts_.reordered;
  other_data["guest_switches"] = counts_.guest_switches;
  other_data["bad_guest_events"] = counts_.bad_guest_events;
  other_data["flows"] = {{"started", counts_.flows_started}, {"to_isr", counts_.flows_to_isr},
                         {"to_task", counts_.flows_to_task}, {"unpaired_guest_acks", counts_.unpaired_guest_acks}};
  write_out("\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":" + other_data.dump() + "}\n");
}

void TraceWriter::write_out(const std::string& text) {
  if (!error_.empty()) return;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(file_.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = std::string("writing the trace failed: ") + (n < 0 ? std::strerror(errno) : "no progress");
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace vmm::trace
