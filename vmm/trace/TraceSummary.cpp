#include "vmm/trace/TraceSummary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "vmm/TextTable.h"

namespace vmm::trace {

namespace {

using Json = nlohmann::json;

// Host tracks (pid 1) and guest tracks (pid 2), as the trace writer numbers them.
constexpr std::int64_t kHostPid = 1;
constexpr std::int64_t kGuestPid = 2;
constexpr std::int64_t kVcpuTidBase = 10;
constexpr std::int64_t kVcpuTidEnd = 100;
constexpr std::int64_t kLineTidBase = 200;

const Json* member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string text(const Json& object, std::string_view key) {
  const Json* value = member(object, key);
  return value && value->is_string() ? value->get<std::string>() : "";
}

std::optional<std::int64_t> integer(const Json& object, std::string_view key) {
  const Json* value = member(object, key);
  if (!value || !value->is_number()) return std::nullopt;
  if (value->is_number_float()) return static_cast<std::int64_t>(std::llround(value->get<double>()));
  if (value->is_number_unsigned()) return static_cast<std::int64_t>(value->get<std::uint64_t>());
  return value->get<std::int64_t>();
}

std::optional<std::uint64_t> count(const Json& object, std::string_view key) {
  const auto value = integer(object, key);
  if (!value || *value < 0) return std::nullopt;
  return static_cast<std::uint64_t>(*value);
}

// ts and dur are microseconds with up to 3 decimals: exact nanoseconds.
std::optional<std::int64_t> nanoseconds(const Json& object, std::string_view key) {
  const Json* value = member(object, key);
  if (!value || !value->is_number()) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(value->get<double>() * 1000.0));
}

const Json& args_of(const Json& event) {
  static const Json kEmpty = Json::object();
  const Json* args = member(event, "args");
  return args && args->is_object() ? *args : kEmpty;
}

// "line nic (GSI 5)" -> "nic"
std::string line_name_from_track(const std::string& track) {
  if (track.rfind("line ", 0) != 0) return "";
  std::string name = track.substr(5);
  if (const auto paren = name.rfind(" (GSI "); paren != std::string::npos) name.resize(paren);
  return name;
}

struct Flow {
  std::string line;
  std::optional<std::int64_t> start, step, finish;
};

struct OpenSpan {
  bool irq = false;
  std::int64_t vector = 0;
  std::int64_t ts = 0;
};

class Summarizer {
 public:
  void event(const Json& e) {
    const std::string ph = text(e, "ph");
    const std::string name = text(e, "name");
    const std::string cat = text(e, "cat");
    const std::int64_t pid = integer(e, "pid").value_or(0);
    const std::int64_t tid = integer(e, "tid").value_or(0);
    const Json& args = args_of(e);
    const auto ts = nanoseconds(e, "ts");
    const std::int64_t dur = std::max<std::int64_t>(0, nanoseconds(e, "dur").value_or(0));
    if (ts) {
      first_ = first_ ? std::min(*first_, *ts) : *ts;
      last_ = last_ ? std::max(*last_, *ts + dur) : *ts + dur;
    }

    if (ph == "M") {
      if (name == "thread_name" && pid == kHostPid && tid >= kLineTidBase) {
        const std::string line = line_name_from_track(text(args, "name"));
        if (!line.empty()) {
          line_tids_[tid] = line;
          this->line(line).tid = tid;  // a declared line is listed even when it never fired
        }
      }
      return;
    }
    if (name == "irq path" && (ph == "s" || ph == "t" || ph == "f")) return flow(e, ph, pid, tid, args, ts);
    if (pid == kHostPid) return host(ph, name, cat, tid, args, dur);
    if (pid == kGuestPid) return guest(ph, name, cat, tid, args, ts);
  }

  TraceSummary finish(const Json& other) {
    TraceSummary summary;
    summary.start_ns = first_.value_or(0);
    summary.end_ns = last_.value_or(0);

    for (const auto& [id, flow] : flows_) {
      if (!flow.start) continue;  // its start was dropped: nothing to measure from
      LineState& state = line(flow.line);
      ++state.summary.flows;
      if (flow.step && *flow.step >= *flow.start) state.to_isr.push_back(*flow.step - *flow.start);
      if (flow.finish && *flow.finish >= *flow.start) state.to_task.push_back(*flow.finish - *flow.start);
    }
    std::stable_sort(lines_.begin(), lines_.end(), [](const auto& a, const auto& b) { return a.tid < b.tid; });
    for (auto& state : lines_) {
      state.summary.to_isr = latency_of(std::move(state.to_isr));
      state.summary.to_task = latency_of(std::move(state.to_task));
      summary.lines.push_back(std::move(state.summary));
    }

    for (auto& [reason, exit] : exits_) summary.exits.push_back(exit);
    std::stable_sort(summary.exits.begin(), summary.exits.end(),
                     [](const auto& a, const auto& b) { return a.count > b.count; });
    summary.kvm_runs = kvm_runs_;
    summary.kvm_run_ns = kvm_run_ns_;

    for (auto& [key, port] : ports_) summary.ports.push_back(port);
    std::stable_sort(summary.ports.begin(), summary.ports.end(), [](const auto& a, const auto& b) {
      return a.count != b.count ? a.count > b.count : a.total_ns > b.total_ns;
    });
    if (summary.ports.size() > kTopPorts) summary.ports.resize(kTopPorts);

    for (auto& [id, vcpu] : vcpus_) summary.vcpus.push_back(vcpu);
    for (auto& [vector, irq] : vectors_) guest_.interrupts.push_back(irq);
    summary.guest = guest_;

    summary.dropped_host_events = count(other, "dropped_host_events");
    summary.dropped_guest_events = count(other, "dropped_guest_events");
    summary.guest_ring_errors = count(other, "guest_ring_errors");
    summary.events_written = count(other, "events");
    if (const Json* sync = member(other, "time_sync"); sync && sync->is_object()) {
      summary.tsc_khz = count(*sync, "tsc_khz");
      if (const Json* syncs = member(*sync, "syncs"); syncs && syncs->is_array()) summary.time_syncs = syncs->size();
      summary.drift_ns = integer(*sync, "drift_ns");
    }
    return summary;
  }

 private:
  struct LineState {
    LineSummary summary;
    std::int64_t tid = std::numeric_limits<std::int64_t>::max();  // its track: the lines are listed in track order
    std::vector<std::int64_t> to_isr, to_task;
  };

  LineState& line(const std::string& name) {
    const auto it = line_index_.find(name);
    if (it != line_index_.end()) return lines_[it->second];
    line_index_.emplace(name, lines_.size());
    lines_.push_back({});
    lines_.back().summary.name = name;
    return lines_.back();
  }

  std::string line_of(std::int64_t tid, const Json& args) {
    std::string name = text(args, "line");
    if (name.empty()) {
      const auto it = line_tids_.find(tid);
      name = it != line_tids_.end() ? it->second : "track " + std::to_string(tid);
    }
    return name;
  }

  void flow(const Json& e, const std::string& ph, std::int64_t pid, std::int64_t tid, const Json& args,
            std::optional<std::int64_t> ts) {
    const Json* id = member(e, "id");
    if (!id || !ts) return;
    Flow& flow = flows_[id->dump()];
    if (ph == "s") {
      flow.start = ts;
      flow.line = pid == kHostPid ? line_of(tid, args) : text(args, "line");
    } else if (ph == "t") {
      if (!flow.step || *ts < *flow.step) flow.step = ts;  // the first ISR entry on the path
    } else if (!flow.finish || *ts < *flow.finish) {
      flow.finish = ts;
    }
  }

  VcpuSummary& vcpu(std::int64_t tid) {
    VcpuSummary& vcpu = vcpus_[tid - kVcpuTidBase];
    vcpu.id = tid - kVcpuTidBase;
    return vcpu;
  }

  void host(const std::string& ph, const std::string& name, const std::string& cat, std::int64_t tid,
            const Json& args, std::int64_t dur) {
    const bool on_vcpu = tid >= kVcpuTidBase && tid < kVcpuTidEnd;
    if (ph == "X" && name == "KVM_RUN") {
      ++kvm_runs_;
      kvm_run_ns_ += dur;
      if (on_vcpu) {
        ++vcpu(tid).runs;
        vcpu(tid).run_ns += dur;
      }
    } else if (ph == "X" && name == "paused") {
      if (on_vcpu) vcpu(tid).paused_ns += dur;
    } else if (ph == "X" && cat == "exit") {
      exit_span(name, tid, on_vcpu, args, dur);
    } else if (cat == "line" || tid >= kLineTidBase) {
      if (ph == "X" && name == "inject") {
        LineState& state = line(line_of(tid, args));
        if (tid >= kLineTidBase) state.tid = std::min(state.tid, tid);
        ++state.summary.injections;
        if (const auto gsi = integer(args, "gsi")) state.summary.gsi = gsi;
      } else if (name == "coalesced") {
        line(line_of(tid, args)).summary.coalesced += count(args, "count").value_or(1);
      } else if (name == "resample") {
        ++line(line_of(tid, args)).summary.resamples;
      } else if (name == "ack") {
        ++line(line_of(tid, args)).summary.acks;
      }
    }
  }

  void exit_span(const std::string& name, std::int64_t tid, bool on_vcpu, const Json& args, std::int64_t dur) {
    std::string reason = text(args, "reason");
    if (reason.empty()) {  // "exit io out 0x3f8" -> "io"
      const std::string rest = name.rfind("exit ", 0) == 0 ? name.substr(5) : name;
      reason = rest.substr(0, rest.find(' '));
    }
    ExitReasonSummary& exit = exits_[reason];
    exit.reason = reason;
    ++exit.count;
    exit.total_ns += dur;
    if (on_vcpu) {
      ++vcpu(tid).exits;
      vcpu(tid).exit_ns += dur;
    }
    std::string where;
    if (const auto port = integer(args, "port")) {
      char hex[32];
      std::snprintf(hex, sizeof hex, "port 0x%llx", static_cast<unsigned long long>(*port));
      where = hex;
    } else if (const std::string address = text(args, "address"); !address.empty()) {
      where = "mmio " + address;
    } else {
      return;
    }
    const std::string direction = text(args, "direction");
    PortSummary& port = ports_[where + "/" + direction];
    port.where = where;
    port.direction = direction;
    if (port.device.empty()) port.device = text(args, "device");
    ++port.count;
    port.total_ns += dur;
  }

  void guest(const std::string& ph, const std::string& name, const std::string& cat, std::int64_t tid,
             const Json& args, std::optional<std::int64_t> ts) {
    if (ph == "B") {
      OpenSpan span;
      span.ts = ts.value_or(0);
      if (cat == "guest_irq") {
        span.irq = true;
        span.vector = integer(args, "vector").value_or(-1);
        VectorSummary& irq = vectors_[span.vector];
        irq.vector = span.vector;
        if (const auto gsi = integer(args, "gsi")) irq.gsi = gsi;
        ++irq.count;
      }
      open_[tid].push_back(span);
    } else if (ph == "E") {
      auto& stack = open_[tid];
      if (stack.empty()) return;  // its B was dropped or came before the trace
      const OpenSpan span = stack.back();
      stack.pop_back();
      if (span.irq && ts && *ts >= span.ts) vectors_[span.vector].total_ns += *ts - span.ts;
    } else if (ph == "i" || ph == "I") {
      if (name == "switch") {
        std::string reason = text(args, "reason");
        ++guest_.switches[reason.empty() ? "other" : reason];
      } else if (name == "syscall") {
        ++guest_.syscalls;
        ++guest_.syscalls_by_nr[integer(args, "nr").value_or(-1)];
      } else if (name == "wake") {
        ++guest_.wakes;
      } else if (name == "task start") {
        ++guest_.task_starts;
      } else if (name == "task exit") {
        ++guest_.task_exits;
      }
    }
  }

  std::optional<std::int64_t> first_, last_;
  std::unordered_map<std::int64_t, std::string> line_tids_;
  std::unordered_map<std::string, std::size_t> line_index_;
  std::vector<LineState> lines_;
  std::map<std::string, Flow> flows_;
  std::map<std::string, ExitReasonSummary> exits_;
  std::map<std::string, PortSummary> ports_;
  std::map<std::int64_t, VcpuSummary> vcpus_;
  std::map<std::int64_t, VectorSummary> vectors_;
  std::unordered_map<std::int64_t, std::vector<OpenSpan>> open_;
  GuestSummary guest_;
  std::uint64_t kvm_runs_ = 0;
  std::int64_t kvm_run_ns_ = 0;
};

std::string format(const char* pattern, double value) {
  char out[64];
  std::snprintf(out, sizeof out, pattern, value);
  return out;
}

std::string us(std::int64_t ns) { return format("%.1f us", static_cast<double>(ns) / 1e3); }
std::string ms(std::int64_t ns) { return format("%.3f ms", static_cast<double>(ns) / 1e6); }
std::string mean(std::int64_t total_ns, std::uint64_t n) {
  return n == 0 ? "-" : us(static_cast<std::int64_t>(static_cast<double>(total_ns) / static_cast<double>(n) + 0.5));
}

std::string optional_number(const std::optional<std::uint64_t>& value) {
  return value ? std::to_string(*value) : "?";
}

Json latency_json(const Latency& latency) {
  return {{"samples", latency.samples}, {"p50_ns", latency.p50_ns}, {"p99_ns", latency.p99_ns}, {"max_ns", latency.max_ns}};
}

template <typename T>
void put(Json& object, const char* key, const std::optional<T>& value) {
  if (value) object[key] = *value;
}

}  // namespace

Latency latency_of(std::vector<std::int64_t> samples) {
  Latency latency;
  latency.samples = samples.size();
  if (samples.empty()) return latency;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double fraction) {
    const auto wanted = static_cast<std::size_t>(fraction * static_cast<double>(samples.size()) + 0.5);
    return samples[std::clamp<std::size_t>(wanted, 1, samples.size()) - 1];
  };
  latency.p50_ns = rank(0.50);
  latency.p99_ns = rank(0.99);
  latency.max_ns = samples.back();
  return latency;
}

std::optional<std::string> close_truncated(std::string_view text) {
  std::string open;  // the brackets open at the current point
  bool in_string = false, escaped = false;
  std::optional<std::size_t> cut;
  std::string open_at_cut;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      open += c;
      if (c == '[' && open == "{[") {  // the event array opened: an empty trace so far
        cut = i + 1;
        open_at_cut = open;
      }
    } else if (c == '}' || c == ']') {
      if (open.empty()) break;  // unbalanced: stop at what was sound
      open.pop_back();
      // The end of an event (depth 2: inside the document and its array), of the
      // array, or of the document: never a half-written event.
      if (open.size() <= 2) {
        cut = i + 1;
        open_at_cut = open;
      }
    }
  }
  if (!cut) return std::nullopt;
  std::string closed(text.substr(0, *cut));
  for (auto it = open_at_cut.rbegin(); it != open_at_cut.rend(); ++it) closed += *it == '{' ? '}' : ']';
  return closed;
}

TraceSummary summarize(const Json& trace) {
  const Json* events = trace.is_array() ? &trace : member(trace, "traceEvents");
  if (!events || !events->is_array())
    throw std::invalid_argument("no \"traceEvents\" array: not a trace written by vmm run --trace");
  // Each track's events in time order (B/E spans nest per track); the writer
  // streams host and guest events as they are drained, not sorted.
  std::vector<const Json*> ordered;
  ordered.reserve(events->size());
  for (const Json& event : *events)
    if (event.is_object()) ordered.push_back(&event);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Json* a, const Json* b) {
    return nanoseconds(*a, "ts").value_or(0) < nanoseconds(*b, "ts").value_or(0);
  });
  Summarizer summarizer;
  for (const Json* event : ordered) summarizer.event(*event);
  const Json* other = member(trace, "otherData");
  TraceSummary summary = summarizer.finish(other ? *other : Json::object());
  summary.events = events->size();
  return summary;
}

TraceSummary summarize_text(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) throw std::invalid_argument("the file is empty");
  Json trace;
  std::string reason;
  try {
    trace = Json::parse(text);
  } catch (const Json::parse_error& e) {
    reason = e.what();
  } catch (const Json::out_of_range& e) {  // a number beyond a double: not ours, and not cut short
    throw std::invalid_argument(std::string("not a trace-event JSON file (") + e.what() + ")");
  }
  if (reason.empty()) return summarize(trace);
  const auto closed = close_truncated(text);
  try {
    if (closed) trace = Json::parse(*closed, nullptr, false);
  } catch (const Json::out_of_range& e) {
    throw std::invalid_argument(std::string("not a trace-event JSON file (") + e.what() + ")");
  }
  if (!closed || trace.is_discarded() || !(trace.is_array() || member(trace, "traceEvents")))
    throw std::invalid_argument("not a trace-event JSON file (" + reason + ")");
  TraceSummary summary = summarize(trace);
  summary.complete = false;
  return summary;
}

std::string format_summary(const TraceSummary& s) {
  std::string out = "trace: " + std::to_string(s.events) + " events over " + ms(s.end_ns - s.start_ns) + "\n";
  if (!s.complete)
    out += "the trace is incomplete: it was cut short (vmm killed?); summarised up to its last whole event\n";

  if (!s.lines.empty()) {
    TextTable lines({"line", "gsi", "injected", "coalesced", "to ISR", "ISR p50", "ISR p99", "ISR max", "to task",
                     "task p50", "task p99", "task max"});
    for (const auto& line : s.lines) {
      auto cells = [](const Latency& l) -> std::vector<std::string> {
        if (l.samples == 0) return {"0", "-", "-", "-"};
        return {std::to_string(l.samples), us(l.p50_ns), us(l.p99_ns), us(l.max_ns)};
      };
      std::vector<std::string> row{line.name, line.gsi ? std::to_string(*line.gsi) : "-",
                                   std::to_string(line.injections), std::to_string(line.coalesced)};
      for (auto&& cell : cells(line.to_isr)) row.push_back(cell);
      for (auto&& cell : cells(line.to_task)) row.push_back(cell);
      lines.add(std::move(row));
    }
    out += "interrupt lines (flows from the injection to the guest's ISR entry and to the woken task running)\n" +
           lines.render();
  }

  out += "KVM_RUN: " + std::to_string(s.kvm_runs) + " runs, " + ms(s.kvm_run_ns) + " in the guest\n";
  if (!s.exits.empty()) {
    TextTable exits({"reason", "count", "handling", "mean"});
    for (const auto& exit : s.exits)
      exits.add({exit.reason, std::to_string(exit.count), ms(exit.total_ns), mean(exit.total_ns, exit.count)});
    out += "exits by reason\n" + exits.render();
  }
  if (!s.ports.empty()) {
    TextTable ports({"where", "dir", "device", "exits", "handling", "mean"});
    for (const auto& port : s.ports)
      ports.add({port.where, port.direction.empty() ? "-" : port.direction,
                 port.device.empty() ? "(unclaimed)" : port.device, std::to_string(port.count), ms(port.total_ns),
                 mean(port.total_ns, port.count)});
    out += "busiest ports and MMIO addresses (top " + std::to_string(kTopPorts) + " by exits)\n" + ports.render();
  }
  if (!s.vcpus.empty()) {
    TextTable vcpus({"vcpu", "runs", "in guest", "exits", "handling", "paused"});
    for (const auto& vcpu : s.vcpus)
      vcpus.add({std::to_string(vcpu.id), std::to_string(vcpu.runs), ms(vcpu.run_ns), std::to_string(vcpu.exits),
                 ms(vcpu.exit_ns), ms(vcpu.paused_ns)});
    out += "vCPUs\n" + vcpus.render();
  }

  const GuestSummary& g = s.guest;
  if (!g.interrupts.empty()) {
    TextTable irqs({"vector", "gsi", "count", "in handler", "mean"});
    for (const auto& irq : g.interrupts) {
      char vector[16];
      std::snprintf(vector, sizeof vector, "0x%02llx", static_cast<unsigned long long>(irq.vector));
      irqs.add({irq.vector < 0 ? "?" : vector, irq.gsi ? std::to_string(*irq.gsi) : "-", std::to_string(irq.count),
                ms(irq.total_ns), mean(irq.total_ns, irq.count)});
    }
    out += "guest interrupts by vector\n" + irqs.render();
  }
  if (!g.switches.empty()) {
    TextTable switches({"reason", "count"});
    for (const auto& [reason, n] : g.switches) switches.add({reason, std::to_string(n)});
    out += "guest task switches by reason\n" + switches.render();
  }
  if (g.syscalls != 0) {
    TextTable syscalls({"nr", "count"});
    for (const auto& [nr, n] : g.syscalls_by_nr) syscalls.add({nr < 0 ? "?" : std::to_string(nr), std::to_string(n)});
    out += "guest syscalls (" + std::to_string(g.syscalls) + ")\n" + syscalls.render();
  }
  out += "guest: " + std::to_string(g.wakes) + " wakes, " + std::to_string(g.task_starts) + " task starts, " +
         std::to_string(g.task_exits) + " task exits\n";
  out += "dropped: " + optional_number(s.dropped_host_events) + " host events, " +
         optional_number(s.dropped_guest_events) + " guest events; guest ring errors: " +
         optional_number(s.guest_ring_errors) + "\n";
  if (s.tsc_khz || s.time_syncs != 0 || s.drift_ns)
    out += "time sync: " + std::to_string(s.time_syncs) + " syncs, TSC " + optional_number(s.tsc_khz) +
           " kHz, drift " + (s.drift_ns ? std::to_string(*s.drift_ns) + " ns" : "?") + "\n";
  return out;
}

Json summary_json(const TraceSummary& s) {
  Json out = {{"complete", s.complete}, {"events", s.events}, {"start_ns", s.start_ns}, {"end_ns", s.end_ns}};
  Json lines = Json::array();
  for (const auto& line : s.lines) {
    Json entry = {{"name", line.name},        {"injections", line.injections},
                  {"coalesced", line.coalesced}, {"resamples", line.resamples},
                  {"acks", line.acks},        {"flows", line.flows},
                  {"to_isr", latency_json(line.to_isr)}, {"to_task", latency_json(line.to_task)}};
    put(entry, "gsi", line.gsi);
    lines.push_back(std::move(entry));
  }
  out["lines"] = std::move(lines);
  out["kvm_run"] = {{"count", s.kvm_runs}, {"total_ns", s.kvm_run_ns}};
  out["exits"] = Json::array();
  for (const auto& exit : s.exits)
    out["exits"].push_back({{"reason", exit.reason}, {"count", exit.count}, {"total_ns", exit.total_ns}});
  out["ports"] = Json::array();
  for (const auto& port : s.ports)
    out["ports"].push_back({{"where", port.where}, {"direction", port.direction}, {"device", port.device},
                            {"count", port.count}, {"total_ns", port.total_ns}});
  out["vcpus"] = Json::array();
  for (const auto& vcpu : s.vcpus)
    out["vcpus"].push_back({{"id", vcpu.id}, {"runs", vcpu.runs}, {"run_ns", vcpu.run_ns}, {"exits", vcpu.exits},
                            {"exit_ns", vcpu.exit_ns}, {"paused_ns", vcpu.paused_ns}});
  Json guest = {{"switches", s.guest.switches}, {"syscalls", s.guest.syscalls}, {"wakes", s.guest.wakes},
                {"task_starts", s.guest.task_starts}, {"task_exits", s.guest.task_exits}};
  guest["interrupts"] = Json::array();
  for (const auto& irq : s.guest.interrupts) {
    Json entry = {{"vector", irq.vector}, {"count", irq.count}, {"total_ns", irq.total_ns}};
    put(entry, "gsi", irq.gsi);
    guest["interrupts"].push_back(std::move(entry));
  }
  guest["syscalls_by_nr"] = Json::object();
  for (const auto& [nr, n] : s.guest.syscalls_by_nr) guest["syscalls_by_nr"][std::to_string(nr)] = n;
  out["guest"] = std::move(guest);
  Json health = Json::object();
  put(health, "dropped_host_events", s.dropped_host_events);
  put(health, "dropped_guest_events", s.dropped_guest_events);
  put(health, "guest_ring_errors", s.guest_ring_errors);
  put(health, "events_written", s.events_written);
  put(health, "tsc_khz", s.tsc_khz);
  put(health, "drift_ns", s.drift_ns);
  health["time_syncs"] = s.time_syncs;
  out["trace"] = std::move(health);
  return out;
}

}  // namespace vmm::trace
