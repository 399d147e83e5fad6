// --trace through the vmm binary: the file is trace-event JSON that viewers
// accept (required fields, nested spans, ordered tracks), it agrees with what
// the guest itself counted, each paced injection is one connected flow from
// the host into the guest's ISR, and a small buffer drops, counts and stays small.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

using Track = std::pair<int, int>;

nlohmann::json read_trace(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

// What the trace-event format requires of every event, and what viewers
// assume: B/E pairs nest per track, timestamps never go back on a track.
void expect_well_formed(const nlohmann::json& trace) {
  ASSERT_TRUE(trace.is_object()) << "the trace is not a JSON object";
  ASSERT_TRUE(trace.contains("traceEvents") && trace["traceEvents"].is_array());
  const std::set<std::string> phases = {"X", "B", "E", "i", "C", "M", "s", "t", "f"};
  std::map<Track, int> depth;
  std::map<Track, double> last_ts;
  std::map<Track, double> last_end;  // of X events: a track's complete events do not overlap
  std::size_t index = 0;
  for (const auto& event : trace["traceEvents"]) {
    SCOPED_TRACE("event " + std::to_string(index++) + ": " + event.dump());
    ASSERT_TRUE(event.contains("ph") && event["ph"].is_string());
    const std::string ph = event["ph"];
    ASSERT_TRUE(phases.count(ph));
    ASSERT_TRUE(event.contains("pid") && event["pid"].is_number_integer());
    ASSERT_TRUE(event.contains("tid") && event["tid"].is_number_integer());
    ASSERT_TRUE(event.contains("ts") && event["ts"].is_number());
    if (ph != "E") {
      ASSERT_TRUE(event.contains("name") && event["name"].is_string());
    }
    if (ph == "s" || ph == "t" || ph == "f") {
      ASSERT_TRUE(event.contains("id"));
    }
    const Track track{event["pid"].get<int>(), event["tid"].get<int>()};
    const double ts = event["ts"].get<double>();
    if (ph == "M") continue;
    if (last_ts.count(track)) {
      ASSERT_GE(ts, last_ts[track]) << "timestamps go back on this track";
    }
    last_ts[track] = ts;
    if (ph == "X") {
      ASSERT_TRUE(event.contains("dur") && event["dur"].is_number());
      ASSERT_GE(event["dur"].get<double>(), 0);
      // Exits start where their KVM_RUN ends, to the nanosecond.
      if (last_end.count(track)) {
        ASSERT_GE(ts + 0.0005, last_end[track]) << "overlaps the track's previous span";
      }
      last_end[track] = ts + event["dur"].get<double>();
    }
    if (ph == "B") ++depth[track];
    if (ph == "E") {
      ASSERT_GE(--depth[track], 0) << "an E without its B";
    }
  }
  for (const auto& [track, open] : depth) EXPECT_EQ(open, 0) << "track " << track.first << "/" << track.second;
}

std::vector<nlohmann::json> events_where(const nlohmann::json& trace, const std::function<bool(const nlohmann::json&)>& keep) {
  std::vector<nlohmann::json> found;
  for (const auto& event : trace["traceEvents"])
    if (keep(event)) found.push_back(event);
  return found;
}

std::uint64_t guest_total(const VmmResult& result, const std::string& key) {
  const auto totals = lines_with_tag(result.out, "total");
  if (totals.size() != 1) return ~0ull;
  return std::stoull(field(totals[0], key));
}

// The default config (2 vCPUs, 4 tasks, 2 waiters woken by 8 paced
// injections): a valid trace whose guest task switches are the guest's own count.
TEST(Trace, DefaultRunIsWellFormedAndAgreesWithTheGuest) {
  REQUIRE_KVM();
  const std::string path = scratch_path("trace.json");
  const auto result = run_vmm({"run", "--trace", path, "--timeout", "60s"});
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_NE(result.err.find("vmm: trace: "), std::string::npos) << describe(result);
  const auto trace = read_trace(path);
  expect_well_formed(trace);
  ASSERT_TRUE(trace.contains("otherData"));
  const auto& other = trace["otherData"];
  EXPECT_EQ(other["dropped_host_events"], 0);
  ASSERT_EQ(other["guest_registered"], true) << other.dump();
  EXPECT_EQ(other["dropped_guest_events"], 0);
  EXPECT_EQ(other["guest_ring_errors"], 0);

  const auto switches = events_where(trace, [](const auto& e) { return e["name"] == "switch" && e["pid"] == 2; });
  EXPECT_EQ(switches.size(), guest_total(result, "switches")) << "guest switches in the trace vs the guest's total line";
  EXPECT_GT(switches.size(), 0u);

  // Both vCPUs ran and exited, and the guest's two CPUs took interrupts.
  for (int vcpu : {10, 11})
    EXPECT_FALSE(events_where(trace, [&](const auto& e) { return e["tid"] == vcpu && e["name"] == "KVM_RUN"; }).empty())
        << "vCPU track " << vcpu;
  for (int cpu : {1100, 1101})
    EXPECT_FALSE(events_where(trace, [&](const auto& e) { return e["tid"] == cpu && e["ph"] == "B"; }).empty())
        << "guest CPU track " << cpu;
  // The 8 paced injections: each one a flow into its ISR and on to the waiter it woke.
  for (const char* phase : {"s", "t", "f"})
    EXPECT_EQ(events_where(trace, [&](const auto& e) { return e["ph"] == phase; }).size(), 8u) << "flow phase " << phase;
  // Two syncs, and the clock check of every acknowledgement lies in what one exit can take.
  EXPECT_EQ(other["time_sync"]["syncs"].size(), 2u) << other.dump();
  EXPECT_EQ(other["time_sync"]["guest_minus_host_ack_ns"]["samples"], 8) << other.dump();
}

// N injections paced by the guest's acknowledgements, on an edge line, a
// level line and an MSI: exactly N injection events per line, N flows that
// reach a guest ISR of that line with matching ids, and N ISR entries (on the
// level line, the guest's spurious entries come on top: its re-raise by the
// resample can beat the acknowledgement's lowering, and the guest counts them).
// A scenario drives it: each line's burst starts once the guest's handlers
// are in place and the one before has woken its waiter N times, and the NMI
// ends the run only then, so a slow or loaded host cannot cut a burst short.
TEST(Trace, EveryPacedInjectionIsOneFlowIntoItsIsr) {
  REQUIRE_KVM();
  constexpr int kInjections = 40;
  const std::string path = scratch_path("trace.json"), config = scratch_path("json");
  const nlohmann::json lines =
      nlohmann::json::array({{{"name", "nic"}, {"gsi", 5}, {"trigger", "edge"}},
                             {{"name", "disk"}, {"gsi", 17}, {"trigger", "level"}},
                             {{"name", "doorbell"}, {"gsi", 24}, {"msi", {{"apic_id", 0}, {"vector", 80}}}}});
  nlohmann::json scenario = nlohmann::json::array({{{"expect", "task id=0 state=start"}}});
  for (const auto& line : lines) {
    scenario.push_back({{"inject", {{"line", line["name"]}, {"count", kInjections}, {"interval_us", 5000},
                                    {"wait_for_ack", true}}}});
    scenario.push_back({{"expect", "line=" + std::to_string(line["gsi"].get<int>()) + " count=" +
                                       std::to_string(kInjections) + " "},
                        {"timeout_ms", 60000}});
  }
  scenario.push_back({{"nmi", true}});
  scenario.push_back({{"exit", {{"status", 0}}}});
  std::ofstream(config) << nlohmann::json{
      {"cmdline", "tasks=1 quantum_ms=10 runtime_ms=0 progress_ms=0 nmi=finish irqs=5,17:level,24:msi80 waiters=5,17,24"},
      {"vcpus", 1},
      {"timeout_ms", 120000},
      {"irq", {{"lines", lines}}},
      {"scenario", scenario}}
                             .dump();
  const auto result = run_vmm({"run", config, "--trace", path});
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  const auto trace = read_trace(path);
  expect_well_formed(trace);
  std::map<int, std::uint64_t> guest_spurious;
  for (const auto& line : lines_with_tag(result.out, "irq"))
    guest_spurious[std::stoi(field(line, "gsi"))] = std::stoull(field(line, "spurious"));
  for (const auto& line : std::vector<std::pair<std::string, int>>{{"nic", 5}, {"disk", 17}, {"doorbell", 24}}) {
    // Named copies, not a structured binding: Clang before 16 cannot capture one.
    const std::string name = line.first;
    const int gsi = line.second;
    SCOPED_TRACE("line " + name);
    const auto injections =
        events_where(trace, [&](const auto& e) { return e["name"] == "inject" && e["args"]["line"] == name; });
    EXPECT_EQ(injections.size(), static_cast<std::size_t>(kInjections));
    const auto isrs = events_where(trace, [&](const auto& e) {
      return e["pid"] == 2 && e["ph"] == "B" && e.contains("args") && e["args"].value("gsi", -1) == gsi;
    });
    ASSERT_TRUE(guest_spurious.count(gsi)) << describe(result);
    EXPECT_EQ(isrs.size(), kInjections + guest_spurious[gsi]);
    if (name != "disk") {
      EXPECT_EQ(guest_spurious[gsi], 0u);
    }
    std::set<std::uint64_t> started, reached;
    for (const auto& e : events_where(trace, [&](const auto& e) { return e["ph"] == "s" && e["args"]["line"] == name; }))
      started.insert(e["id"].get<std::uint64_t>());
    for (const auto& e : events_where(trace, [&](const auto& e) { return e["ph"] == "t"; }))
      if (started.count(e["id"].get<std::uint64_t>())) reached.insert(e["id"].get<std::uint64_t>());
    EXPECT_EQ(started.size(), static_cast<std::size_t>(kInjections));
    EXPECT_EQ(reached, started) << "every injection's flow reaches a guest ISR";
  }
}

// Far more exits than a 64 KiB buffer holds between two drains (an out and an
// in on every port): events are dropped and counted, memory stays bounded and
// the trace is still valid.
TEST(Trace, ASmallBufferDropsCountsAndStaysBounded) {
  REQUIRE_KVM();
  const std::string path = scratch_path("trace.json"), stats = scratch_path("stats.json");
  VmmRun run;
  run.args = {"run",     "--kernel",      std::string(VMM_HOSTILE_GUESTS) + "/hostile-port_storm.elf",
              "--memory", "16",            "--timeout",
              "120s",    "--trace",       path,
              "--trace-buffer", "0.0625", "--stats", stats};
  run.limit = std::chrono::minutes(4);
  const auto result = run_vmm(run);
  EXPECT_FALSE(result.hung) << describe(result);
  EXPECT_NE(result.err.find("dropped"), std::string::npos) << describe(result);
  const auto trace = read_trace(path);
  expect_well_formed(trace);
  const auto dropped = trace["otherData"]["dropped_host_events"].get<std::uint64_t>();
  EXPECT_GT(dropped, 0u);
  std::printf("[ trace    ] port storm with a 64 KiB buffer: %llu events written, %llu dropped, peak RSS %.1f MiB\n",
              static_cast<unsigned long long>(trace["otherData"]["events"].get<std::uint64_t>()),
              static_cast<unsigned long long>(dropped), result.peak_rss_kib / 1024.0);
  const std::uint64_t bound_kib = build_kind() == BuildKind::Plain ? 64 * 1024 : 384 * 1024;
  EXPECT_GT(result.peak_rss_kib, 0u);
  EXPECT_LT(result.peak_rss_kib, bound_kib);
}

}  // namespace
}  // namespace vmm::testing
