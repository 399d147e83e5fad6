// `vmm trace summary` on a synthetic trace in the writer's schema
// (docs/tracing.md): known injection-to-ISR and injection-to-task latencies
// give known percentiles; exits, ports, guest events and otherData are counted;
// a file cut short is summarised up to its last whole event.

#include "vmm/trace/TraceSummary.h"

#include <gtest/gtest.h>

namespace vmm::trace {
namespace {

using Json = nlohmann::json;

constexpr int kNicInjections = 100;
constexpr int kNicWakes = 40;  // the first 40 injections wake a task

// The trace one short run could write: two scripted lines, two vCPUs, one guest CPU.
Json synthetic_events() {
  Json events = Json::array();
  auto add = [&](Json e) { events.push_back(std::move(e)); };
  add({{"ph", "M"}, {"name", "process_name"}, {"pid", 1}, {"tid", 0}, {"args", {{"name", "vmm (host)"}}}});
  add({{"ph", "M"}, {"name", "thread_name"}, {"pid", 1}, {"tid", 10}, {"args", {{"name", "vCPU 0"}}}});
  add({{"ph", "M"}, {"name", "thread_name"}, {"pid", 1}, {"tid", 11}, {"args", {{"name", "vCPU 1"}}}});
  add({{"ph", "M"}, {"name", "thread_name"}, {"pid", 1}, {"tid", 200}, {"args", {{"name", "line nic (GSI 5)"}}}});
  add({{"ph", "M"}, {"name", "thread_name"}, {"pid", 1}, {"tid", 201}, {"args", {{"name", "line disk (GSI 17)"}}}});
  add({{"ph", "M"}, {"name", "process_name"}, {"pid", 2}, {"tid", 0}, {"args", {{"name", "guest kernel"}}}});

  // nic: injection k (1-based) at k ms; its ISR entry k us later; for the first
  // 40, the woken task runs 10k us after the injection.
  for (int k = 1; k <= kNicInjections; ++k) {
    const double at = 1000.0 * k;
    const double isr = at + k;
    add({{"name", "inject"}, {"cat", "line"}, {"ph", "X"}, {"ts", at}, {"dur", 0.5}, {"pid", 1}, {"tid", 200},
         {"args", {{"line", "nic"}, {"gsi", 5}, {"seq", k}}}});
    add({{"name", "irq path"}, {"cat", "flow"}, {"ph", "s"}, {"id", k}, {"ts", at + 0.001}, {"pid", 1}, {"tid", 200},
         {"args", {{"line", "nic"}}}});
    add({{"name", "irq 0x25 (GSI 5)"}, {"cat", "guest_irq"}, {"ph", "B"}, {"ts", isr}, {"pid", 2}, {"tid", 1100},
         {"args", {{"vector", 0x25}, {"gsi", 5}}}});
    add({{"name", "irq path"}, {"cat", "flow"}, {"ph", "t"}, {"id", k}, {"ts", isr + 0.001}, {"pid", 2}, {"tid", 1100}});
    add({{"ph", "E"}, {"ts", isr + 3}, {"pid", 2}, {"tid", 1100}});
    add({{"name", "ack"}, {"cat", "line"}, {"ph", "i"}, {"s", "t"}, {"ts", isr + 4}, {"pid", 1}, {"tid", 200},
         {"args", {{"vcpu", 0}, {"delivered", true}, {"seq", k}}}});
    if (k <= kNicWakes) {
      const double switch_at = at + 10.0 * k;
      add({{"name", "wake"}, {"ph", "i"}, {"s", "t"}, {"ts", isr + 1}, {"pid", 2}, {"tid", 1100},
           {"args", {{"task", "task 5"}, {"gsi", 5}, {"cpu", 0}}}});
      add({{"name", "switch"}, {"ph", "i"}, {"s", "t"}, {"ts", switch_at}, {"pid", 2}, {"tid", 1100},
           {"args", {{"prev", "task 1"}, {"next", "task 5"}, {"reason", "woken"}}}});
      add({{"name", "irq path"}, {"cat", "flow"}, {"ph", "f"}, {"bp", "e"}, {"id", k}, {"ts", switch_at + 0.001},
           {"pid", 2}, {"tid", 1000}});
    }
  }
  // disk: 3 injections, 2 of them coalesced, no flow reaches the guest.
  for (int k = 1; k <= 3; ++k) {
    add({{"name", "inject"}, {"cat", "line"}, {"ph", "X"}, {"ts", 500.0 + k}, {"dur", 0.2}, {"pid", 1}, {"tid", 201},
         {"args", {{"line", "disk"}, {"gsi", 17}, {"seq", k}}}});
    add({{"name", "irq path"}, {"cat", "flow"}, {"ph", "s"}, {"id", 1000 + k}, {"ts", 500.001 + k}, {"pid", 1},
         {"tid", 201}, {"args", {{"line", "disk"}}}});
  }
  add({{"name", "coalesced"}, {"cat", "line"}, {"ph", "i"}, {"s", "t"}, {"ts", 502.5}, {"pid", 1}, {"tid", 201},
       {"args", {{"count", 2}}}});
  add({{"name", "resample"}, {"cat", "line"}, {"ph", "i"}, {"s", "t"}, {"ts", 510.0}, {"pid", 1}, {"tid", 201}});

  // Exits: vCPU 0 writes COM1 30 times (2 us each), reads its LSR 20 times
  // (1 us), writes the LAPIC's EOI 5 times (3 us), halts twice (10 us); vCPU 1
  // writes POST codes 12 times (1 us) and touches 11 ports once each (4 us).
  double clock = 200000.0;
  auto exit = [&](int vcpu, const std::string& name, double dur, Json args) {
    add({{"name", "KVM_RUN"}, {"cat", "vcpu"}, {"ph", "X"}, {"ts", clock}, {"dur", 5}, {"pid", 1}, {"tid", 10 + vcpu}});
    add({{"name", name}, {"cat", "exit"}, {"ph", "X"}, {"ts", clock + 5}, {"dur", dur}, {"pid", 1}, {"tid", 10 + vcpu},
         {"args", std::move(args)}});
    clock += 20;
  };
  auto io = [](const char* direction, int port, const char* device) {
    return Json{{"reason", "io"}, {"direction", direction}, {"port", port}, {"size", 1}, {"device", device}};
  };
  for (int i = 0; i < 30; ++i) exit(0, "exit io out 0x3f8", 2, io("out", 0x3f8, "COM1 16550A"));
  for (int i = 0; i < 20; ++i) exit(0, "exit io in 0x3fd", 1, io("in", 0x3fd, "COM1 16550A"));
  for (int i = 0; i < 5; ++i)
    exit(0, "exit mmio write 0xfee000b0", 3,
         {{"reason", "mmio"}, {"direction", "write"}, {"address", "0xfee000b0"}, {"size", 4}, {"device", ""}});
  for (int i = 0; i < 2; ++i) exit(0, "exit hlt", 10, {{"reason", "hlt"}});
  for (int i = 0; i < 12; ++i) exit(1, "exit io out 0x80", 1, io("out", 0x80, "POST"));
  for (int i = 0; i < 11; ++i) exit(1, "exit io in 0x" + std::to_string(700 + i), 4, io("in", 0x700 + i, ""));
  add({{"name", "paused"}, {"cat", "vcpu"}, {"ph", "X"}, {"ts", clock}, {"dur", 250}, {"pid", 1}, {"tid", 11}});

  // The guest's own bookkeeping.
  for (const char* reason : {"slice", "slice", "block", "idle"})
    add({{"name", "switch"}, {"ph", "i"}, {"s", "t"}, {"ts", 300000.0}, {"pid", 2}, {"tid", 1101},
         {"args", {{"prev", "task 2"}, {"next", "idle"}, {"reason", reason}}}});
  for (int nr : {1, 1, 3})
    add({{"name", "syscall"}, {"ph", "i"}, {"s", "t"}, {"ts", 300001.0}, {"pid", 2}, {"tid", 1101},
         {"args", {{"nr", nr}, {"task", "task 2"}}}});
  add({{"name", "task start"}, {"ph", "i"}, {"s", "t"}, {"ts", 0.5}, {"pid", 2}, {"tid", 1101}});
  return events;
}

const Json kOtherData = {{"dropped_host_events", 3},
                         {"dropped_guest_events", 7},
                         {"guest_ring_errors", 0},
                         {"events", 2000},
                         {"time_sync", {{"tsc_khz", 2400000},
                                        {"syncs", {{{"tsc", 100}, {"host_ns", 5}}, {{"tsc", 200}, {"host_ns", 9}}}},
                                        {"drift_ns", -42}}}};

// As the writer streams it: one event per line, otherData after the events.
std::string streamed(const Json& events, const Json& other) {
  std::string text = "{\"traceEvents\":[\n";
  for (std::size_t i = 0; i < events.size(); ++i) text += events[i].dump() + (i + 1 < events.size() ? ",\n" : "\n");
  return text + "],\n\"displayTimeUnit\":\"ns\",\"otherData\":" + other.dump() + "}\n";
}

constexpr std::int64_t kUs = 1000;

TEST(TraceSummary, LatencyPercentilesFollowTheFlowsByLine) {
  const TraceSummary summary = summarize_text(streamed(synthetic_events(), kOtherData));
  EXPECT_TRUE(summary.complete);
  ASSERT_EQ(summary.lines.size(), 2u);
  const LineSummary& nic = summary.lines[0];
  EXPECT_EQ(nic.name, "nic");
  EXPECT_EQ(nic.gsi, 5);
  EXPECT_EQ(nic.injections, 100u);
  EXPECT_EQ(nic.flows, 100u);
  EXPECT_EQ(nic.acks, 100u);
  EXPECT_EQ(nic.to_isr.samples, 100u);
  EXPECT_EQ(nic.to_isr.p50_ns, 50 * kUs);  // k us for k = 1..100
  EXPECT_EQ(nic.to_isr.p99_ns, 99 * kUs);
  EXPECT_EQ(nic.to_isr.max_ns, 100 * kUs);
  EXPECT_EQ(nic.to_task.samples, 40u);
  EXPECT_EQ(nic.to_task.p50_ns, 200 * kUs);  // 10k us for k = 1..40
  EXPECT_EQ(nic.to_task.p99_ns, 400 * kUs);
  EXPECT_EQ(nic.to_task.max_ns, 400 * kUs);

  const LineSummary& disk = summary.lines[1];
  EXPECT_EQ(disk.name, "disk");
  EXPECT_EQ(disk.gsi, 17);
  EXPECT_EQ(disk.injections, 3u);
  EXPECT_EQ(disk.coalesced, 2u);
  EXPECT_EQ(disk.resamples, 1u);
  EXPECT_EQ(disk.flows, 3u);
  EXPECT_EQ(disk.to_isr.samples, 0u);
  EXPECT_EQ(disk.to_task.samples, 0u);
}

TEST(TraceSummary, PercentilesRankLikeTheInjectorsHistograms) {
  EXPECT_EQ(latency_of({}).samples, 0u);
  const Latency one = latency_of({7});
  EXPECT_EQ(one.p50_ns, 7);
  EXPECT_EQ(one.p99_ns, 7);
  const Latency four = latency_of({40, 10, 30, 20});  // unsorted on purpose
  EXPECT_EQ(four.p50_ns, 20);
  EXPECT_EQ(four.p99_ns, 40);
  EXPECT_EQ(four.max_ns, 40);
}

TEST(TraceSummary, ExitsByReasonWithTimeInHandling) {
  const TraceSummary summary = summarize(Json{{"traceEvents", synthetic_events()}, {"otherData", kOtherData}});
  ASSERT_EQ(summary.exits.size(), 3u);
  EXPECT_EQ(summary.exits[0].reason, "io");
  EXPECT_EQ(summary.exits[0].count, 30u + 20 + 12 + 11);
  EXPECT_EQ(summary.exits[0].total_ns, (30 * 2 + 20 * 1 + 12 * 1 + 11 * 4) * kUs);
  EXPECT_EQ(summary.exits[1].reason, "mmio");
  EXPECT_EQ(summary.exits[1].total_ns, 15 * kUs);
  EXPECT_EQ(summary.exits[2].reason, "hlt");
  EXPECT_EQ(summary.exits[2].count, 2u);
  EXPECT_EQ(summary.kvm_runs, 80u);
  EXPECT_EQ(summary.kvm_run_ns, 80 * 5 * kUs);
  ASSERT_EQ(summary.vcpus.size(), 2u);
  EXPECT_EQ(summary.vcpus[0].exits, 57u);
  EXPECT_EQ(summary.vcpus[1].exits, 23u);
  EXPECT_EQ(summary.vcpus[1].paused_ns, 250 * kUs);
}

TEST(TraceSummary, BusiestPortsRankedByExitsWithDeviceAndDirection) {
  const TraceSummary summary = summarize(Json{{"traceEvents", synthetic_events()}});
  ASSERT_EQ(summary.ports.size(), kTopPorts);
  EXPECT_EQ(summary.ports[0].where, "port 0x3f8");
  EXPECT_EQ(summary.ports[0].direction, "out");
  EXPECT_EQ(summary.ports[0].device, "COM1 16550A");
  EXPECT_EQ(summary.ports[0].count, 30u);
  EXPECT_EQ(summary.ports[1].where, "port 0x3fd");
  EXPECT_EQ(summary.ports[1].direction, "in");
  EXPECT_EQ(summary.ports[2].where, "port 0x80");
  EXPECT_EQ(summary.ports[2].device, "POST");
  EXPECT_EQ(summary.ports[3].where, "mmio 0xfee000b0");
  EXPECT_EQ(summary.ports[3].direction, "write");
  EXPECT_EQ(summary.ports[3].device, "");
  EXPECT_EQ(summary.ports[3].total_ns, 15 * kUs);
  EXPECT_EQ(summary.ports[4].count, 1u);  // then 6 of the 11 single-exit ports
}

TEST(TraceSummary, GuestInterruptsSwitchesSyscallsAndOtherData) {
  const TraceSummary summary = summarize_text(streamed(synthetic_events(), kOtherData));
  const GuestSummary& guest = summary.guest;
  ASSERT_EQ(guest.interrupts.size(), 1u);
  EXPECT_EQ(guest.interrupts[0].vector, 0x25);
  EXPECT_EQ(guest.interrupts[0].gsi, 5);
  EXPECT_EQ(guest.interrupts[0].count, 100u);
  EXPECT_EQ(guest.interrupts[0].total_ns, 100 * 3 * kUs);
  EXPECT_EQ(guest.switches.at("woken"), 40u);
  EXPECT_EQ(guest.switches.at("slice"), 2u);
  EXPECT_EQ(guest.switches.at("block"), 1u);
  EXPECT_EQ(guest.switches.at("idle"), 1u);
  EXPECT_EQ(guest.syscalls, 3u);
  EXPECT_EQ(guest.syscalls_by_nr.at(1), 2u);
  EXPECT_EQ(guest.wakes, 40u);
  EXPECT_EQ(guest.task_starts, 1u);
  EXPECT_EQ(summary.dropped_host_events, 3u);
  EXPECT_EQ(summary.dropped_guest_events, 7u);
  EXPECT_EQ(summary.guest_ring_errors, 0u);
  EXPECT_EQ(summary.tsc_khz, 2400000u);
  EXPECT_EQ(summary.time_syncs, 2u);
  EXPECT_EQ(summary.drift_ns, -42);
  EXPECT_EQ(summary.start_ns, 500);  // the task start at 0.5 us
}

TEST(TraceSummary, TextTablesForAPerson) {
  const std::string text = format_summary(summarize_text(streamed(synthetic_events(), kOtherData)));
  for (const char* fragment : {
           "interrupt lines (flows from the injection to the guest's ISR entry and to the woken task running)\n",
           "  line  gsi  injected  coalesced  to ISR  ISR p50  ISR p99   ISR max  to task  task p50  task p99  task max\n",
           "  nic     5       100          0     100  50.0 us  99.0 us  100.0 us       40  200.0 us  400.0 us  400.0 us\n",
           "  disk   17         3          2       0        -        -         -        0         -         -         -\n",
           "KVM_RUN: 80 runs, 0.400 ms in the guest\n",
           "  io         73  0.136 ms   1.9 us\n",
           "  port 0x3f8         out  COM1 16550A     30  0.060 ms  2.0 us\n",
           "  mmio 0xfee000b0  write  (unclaimed)      5  0.015 ms  3.0 us\n",
           "  0x25      5    100    0.300 ms  3.0 us\n",
           "  woken      40\n",
           "  1       23  0.115 ms     23  0.056 ms  0.250 ms\n",
           "guest syscalls (3)\n",
           "dropped: 3 host events, 7 guest events; guest ring errors: 0\n",
           "time sync: 2 syncs, TSC 2400000 kHz, drift -42 ns\n"})
    EXPECT_NE(text.find(fragment), std::string::npos) << "missing: " << fragment << "\n" << text;
  EXPECT_EQ(text.find("incomplete"), std::string::npos) << text;
}

TEST(TraceSummary, JsonCarriesTheSameNumbers) {
  const Json json = summary_json(summarize_text(streamed(synthetic_events(), kOtherData)));
  EXPECT_EQ(json["complete"], true);
  EXPECT_EQ(json["lines"][0]["name"], "nic");
  EXPECT_EQ(json["lines"][0]["to_isr"]["p99_ns"], 99 * kUs);
  EXPECT_EQ(json["lines"][0]["to_task"]["samples"], 40);
  EXPECT_EQ(json["exits"][0]["reason"], "io");
  EXPECT_EQ(json["ports"][0]["where"], "port 0x3f8");
  EXPECT_EQ(json["guest"]["switches"]["woken"], 40);
  EXPECT_EQ(json["trace"]["drift_ns"], -42);
}

TEST(TraceSummary, AFileCutShortIsSummarisedUpToItsLastWholeEvent) {
  const Json events = synthetic_events();
  const std::string whole = streamed(events, kOtherData);
  // Cut in the middle of the last event, as a killed writer leaves it.
  const std::string last = events.back().dump();
  const std::size_t last_at = whole.rfind(last);
  ASSERT_NE(last_at, std::string::npos);
  const TraceSummary cut = summarize_text(std::string_view(whole).substr(0, last_at + last.size() / 2));
  EXPECT_FALSE(cut.complete);
  EXPECT_EQ(cut.events, events.size() - 1);
  EXPECT_EQ(cut.lines.at(0).to_isr.p99_ns, 99 * kUs);
  EXPECT_FALSE(cut.dropped_host_events.has_value());
  EXPECT_NE(format_summary(cut).find("the trace is incomplete"), std::string::npos);

  // Cut after the events, inside otherData: every event is there.
  const TraceSummary late = summarize_text(std::string_view(whole).substr(0, whole.size() - 20));
  EXPECT_FALSE(late.complete);
  EXPECT_EQ(late.events, events.size());

  // Right after the opening bracket: an empty trace, still incomplete.
  const TraceSummary empty = summarize_text("{\"traceEvents\":[\n{\"ph\":\"M\",\"na");
  EXPECT_FALSE(empty.complete);
  EXPECT_EQ(empty.events, 0u);
}

TEST(TraceSummary, WhatIsNoTraceIsRefusedWithAReason) {
  for (const char* text : {"", "  \n", "not json", "{\"vcpus\": 2}", "[1, 2", "{\"traceEvents\": 5}"})
    EXPECT_THROW(summarize_text(text), std::invalid_argument) << text;
  try {
    summarize_text("{\"vcpus\": 2}");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("traceEvents"), std::string::npos) << e.what();
  }
}

TEST(TraceSummary, StrangeEventsAreSkippedNotFatal) {
  const Json trace = Json::parse(R"({"traceEvents": [5, null, {"ph": 3}, {"name": "KVM_RUN", "ph": "X", "dur": "x", "pid": 1, "tid": 10},
    {"name": "exit io", "cat": "exit", "ph": "X", "pid": 1, "tid": 10, "args": {"port": "0x3f8"}},
    {"name": "irq path", "ph": "t", "id": "a", "ts": 1}, {"ph": "E", "pid": 2, "tid": 1100, "ts": 2},
    {"name": "coalesced", "cat": "line", "ph": "i", "pid": 1, "tid": 200}], "otherData": {"time_sync": 7}})");
  TraceSummary summary;
  ASSERT_NO_THROW(summary = summarize(trace));
  EXPECT_NO_THROW(format_summary(summary));
  EXPECT_EQ(summary.exits.at(0).reason, "io");
  EXPECT_EQ(summary.lines.at(0).coalesced, 1u);
}

}  // namespace
}  // namespace vmm::trace
