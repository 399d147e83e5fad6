// TraceWriter: records and guest events in, trace-event JSON out. Checked by
// parsing what it wrote: the exit's port and device, the flow of one
// injection through the guest's ISR to the task it woke, spans that stay
// nested when guest events were lost, and tracks kept in time order.

#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "devices/Bus.h"
#include "vmm/trace/TraceWriter.h"

namespace vmm::trace {
namespace {

constexpr std::uint64_t kOrigin = 1'000'000'000;

class NullDevice final : public BusDevice {
 public:
  void read(std::uint64_t, std::span<std::uint8_t>) override {}
  void write(std::uint64_t, std::span<const std::uint8_t>) override {}
};

class TraceWriterTest : public ::testing::Test {
 protected:
  TraceWriterTest() {
    io_bus_.add(0x3f8, 8, device_, "COM1 16550A");
    TraceWriter::Layout layout;
    layout.vcpus = 1;
    layout.lines = {{"nic", 5}};
    layout.io_bus = &io_bus_;
    layout.control_requests = {"inject", "stats"};
    writer_ = std::make_unique<TraceWriter>(UniqueFd(fd_), layout, kOrigin);
  }

  nlohmann::json finish() {
    writer_->finish(kOrigin + 1'000'000, {{"note", "test"}});
    std::string text(static_cast<std::size_t>(::lseek(fd_, 0, SEEK_END)), '\0');
    EXPECT_EQ(::pread(fd_, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
    auto json = nlohmann::json::parse(text, nullptr, false);
    EXPECT_TRUE(json.is_object()) << text;
    return json;
  }

  static std::vector<nlohmann::json> with(const nlohmann::json& trace, const std::string& key, const nlohmann::json& value) {
    std::vector<nlohmann::json> found;
    for (const auto& event : trace["traceEvents"])
      if (event.contains(key) && event[key] == value) found.push_back(event);
    return found;
  }

  static trace_event guest_event(std::uint16_t type, std::uint32_t arg0, std::uint64_t arg1 = 0, std::uint64_t arg2 = 0) {
    return {0, type, 0, arg0, arg1, arg2};
  }

  int fd_ = ::memfd_create("trace", 0);
  NullDevice device_;
  Bus io_bus_{"port I/O bus"};
  std::unique_ptr<TraceWriter> writer_;
};

TEST_F(TraceWriterTest, AnExitIsItsRunSpanAndItsHandlingWithPortAndDevice) {
  writer_->host({.start = kOrigin + 1000, .end = kOrigin + 5000, .a = kOrigin + 3000, .b = 0x3f8,
                 .c = 1 | 1 << 8 | 1 << 16, .kind = RecordKind::KvmRun, .sub = KVM_EXIT_IO, .track = 0});
  const auto trace = finish();
  const auto run = with(trace, "name", "KVM_RUN");
  ASSERT_EQ(run.size(), 1u);
  EXPECT_DOUBLE_EQ(run[0]["ts"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(run[0]["dur"].get<double>(), 2.0);
  EXPECT_EQ(run[0]["tid"], 10);
  const auto exit = with(trace, "cat", "exit");
  ASSERT_EQ(exit.size(), 1u);
  EXPECT_EQ(exit[0]["name"], "exit io out 0x3f8 (COM1 16550A)");
  EXPECT_EQ(exit[0]["args"]["port"], 0x3f8);
  EXPECT_EQ(exit[0]["args"]["device"], "COM1 16550A");
  EXPECT_EQ(exit[0]["args"]["direction"], "out");
  EXPECT_DOUBLE_EQ(exit[0]["dur"].get<double>(), 2.0);
  EXPECT_EQ(with(trace, "name", "thread_name").size(), 1u);  // vCPU 0's track, named once
  EXPECT_EQ(trace["otherData"]["note"], "test");
}

TEST_F(TraceWriterTest, AnInjectionFlowsIntoTheIsrThatAcknowledgedItAndOnToTheTaskItWoke) {
  writer_->host({.start = kOrigin + 1000, .end = kOrigin + 1500, .a = 1, .kind = RecordKind::Inject, .track = 0});
  writer_->host({.start = kOrigin + 9000, .a = 1, .b = 1, .kind = RecordKind::Acknowledge, .sub = 1, .track = 0});
  writer_->guest(0, guest_event(TRACE_IRQ_ENTRY, 0x25, 5, TRACE_NO_TASK), kOrigin + 8000);
  writer_->guest(0, guest_event(TRACE_LINE_ACK, 5, 1), kOrigin + 9500);
  writer_->guest(0, guest_event(TRACE_WAKE, 5, 3, 0), kOrigin + 9700);
  writer_->guest(0, guest_event(TRACE_IRQ_EXIT, 0x25), kOrigin + 9900);
  writer_->guest(0, guest_event(TRACE_SWITCH, TRACE_SWITCH_WOKEN, TRACE_NO_TASK, 3), kOrigin + 12000);
  const auto trace = finish();
  const auto s = with(trace, "ph", "s"), t = with(trace, "ph", "t"), f = with(trace, "ph", "f");
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(t.size(), 1u);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(s[0]["id"], t[0]["id"]);
  EXPECT_EQ(t[0]["id"], f[0]["id"]);
  EXPECT_EQ(s[0]["tid"], 200);                         // the line's track
  EXPECT_DOUBLE_EQ(t[0]["ts"].get<double>(), 8.001);   // inside the ISR span, at its entry
  EXPECT_EQ(t[0]["tid"], 1100);                        // guest CPU 0's kernel track
  EXPECT_DOUBLE_EQ(f[0]["ts"].get<double>(), 12.001);  // the woken task's first slice
  EXPECT_EQ(f[0]["tid"], 1000);
  const auto& other = trace["otherData"];
  EXPECT_EQ(other["flows"]["started"], 1);
  EXPECT_EQ(other["flows"]["to_isr"], 1);
  EXPECT_EQ(other["flows"]["to_task"], 1);
  // The guest saw the acknowledgement 500 ns after the host did.
  ASSERT_EQ(writer_->clock_check_ns().size(), 1u);
  EXPECT_EQ(writer_->clock_check_ns()[0], 500);
}

TEST_F(TraceWriterTest, AnInterruptThatCameBeforeTheWaitEndsItsFlowWhenTheWaitTakesIt) {
  writer_->host({.start = kOrigin + 1000, .end = kOrigin + 1500, .a = 1, .kind = RecordKind::Inject, .track = 0});
  writer_->host({.start = kOrigin + 3000, .a = 1, .b = 1, .kind = RecordKind::Acknowledge, .track = 0});
  writer_->guest(0, guest_event(TRACE_SWITCH, TRACE_SWITCH_IDLE, TRACE_NO_TASK, 3), kOrigin + 500);
  writer_->guest(0, guest_event(TRACE_IRQ_ENTRY, 0x25, 5, 3), kOrigin + 2000);
  writer_->guest(0, guest_event(TRACE_LINE_ACK, 5, 1), kOrigin + 3500);
  writer_->guest(0, guest_event(TRACE_IRQ_EXIT, 0x25), kOrigin + 4000);  // no waiter yet: kept for the line
  writer_->guest(0, guest_event(TRACE_SYSCALL, 4, 3), kOrigin + 6000);
  writer_->guest(0, guest_event(TRACE_WAKE, 5, 3, 0), kOrigin + 6500);  // task 3's wait takes it
  const auto trace = finish();
  const auto f = with(trace, "ph", "f");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_DOUBLE_EQ(f[0]["ts"].get<double>(), 6.501);
  EXPECT_EQ(f[0]["tid"], 1000);
  EXPECT_EQ(f[0]["id"], with(trace, "ph", "s")[0]["id"]);
}

TEST_F(TraceWriterTest, ASpuriousAcknowledgementOrACoalescedInjectionStartsNoFlow) {
  writer_->host({.start = kOrigin + 1000, .end = kOrigin + 1100, .a = 1, .kind = RecordKind::Inject, .track = 0});
  writer_->host({.start = kOrigin + 2000, .end = kOrigin + 2100, .a = 2, .b = 1, .kind = RecordKind::Inject, .track = 0});
  writer_->host({.start = kOrigin + 3000, .a = 1, .b = 0, .kind = RecordKind::Acknowledge, .track = 0});
  writer_->guest(0, guest_event(TRACE_IRQ_ENTRY, 0x25, 5), kOrigin + 2900);
  writer_->guest(0, guest_event(TRACE_LINE_ACK, 5, 0), kOrigin + 3100);
  const auto trace = finish();
  EXPECT_EQ(with(trace, "ph", "s").size(), 1u);
  EXPECT_EQ(with(trace, "ph", "t").size(), 0u);
  EXPECT_EQ(with(trace, "name", "coalesced").size(), 1u);
}

TEST_F(TraceWriterTest, LostGuestEventsNeverLeaveASpanOpenOrAnEndWithoutItsBegin) {
  writer_->guest(0, guest_event(TRACE_IRQ_EXIT, 0x20), kOrigin + 100);  // its entry was dropped
  writer_->guest(0, guest_event(TRACE_IRQ_ENTRY, 0x20, 0), kOrigin + 200);
  writer_->guest(0, guest_event(TRACE_IRQ_ENTRY, 0x20, 0), kOrigin + 300);  // the exit between was dropped
  writer_->guest(0, guest_event(TRACE_SWITCH, TRACE_SWITCH_SLICE, 1, 2), kOrigin + 400);
  writer_->guest(0, guest_event(99, 0), kOrigin + 500);  // not an event type
  const auto trace = finish();
  int depth_kernel = 0, depth_tasks = 0;
  for (const auto& event : trace["traceEvents"]) {
    int* depth = event["tid"] == 1100 ? &depth_kernel : event["tid"] == 1000 ? &depth_tasks : nullptr;
    if (!depth) continue;
    if (event["ph"] == "B") ++*depth;
    if (event["ph"] == "E") {
      ASSERT_GE(--*depth, 0);
    }
  }
  EXPECT_EQ(depth_kernel, 0);
  EXPECT_EQ(depth_tasks, 0);
  EXPECT_EQ(trace["otherData"]["bad_guest_events"], 1);
}

// sched=o1 packs each task's priority (and prev's array) above its id
// (abi/trace.h): the switch names them, the task's slice says its priority.
TEST_F(TraceWriterTest, AnO1SwitchCarriesPrioritiesAndTheArrayAndNamesTheSliceWithItsPriority) {
  const std::uint64_t prev = 2 | std::uint64_t{125} << 32 | std::uint64_t{2} << 40 | TRACE_SWITCH_O1;
  const std::uint64_t next = 4 | std::uint64_t{115} << 32 | TRACE_SWITCH_O1;
  writer_->guest(0, guest_event(TRACE_SWITCH, TRACE_SWITCH_YIELD, prev, next), kOrigin + 100);
  writer_->guest(0, guest_event(TRACE_SWITCH, TRACE_SWITCH_SLICE, 1, 2), kOrigin + 200);  // rr: ids alone
  writer_->guest(0, guest_event(TRACE_PROC_FORK, 0, 1, 5), kOrigin + 300);
  const auto trace = finish();
  const auto switches = with(trace, "name", "switch");
  ASSERT_EQ(switches.size(), 2u);
  const auto& o1 = switches[0]["args"];
  EXPECT_EQ(o1["prev"], "task 2");
  EXPECT_EQ(o1["next"], "task 4");
  EXPECT_EQ(o1["reason"], "yield");
  EXPECT_EQ(o1["prev_prio"], 125);
  EXPECT_EQ(o1["prev_array"], "expired");
  EXPECT_EQ(o1["next_prio"], 115);
  EXPECT_FALSE(switches[1]["args"].contains("prev_prio"));
  EXPECT_EQ(with(trace, "name", "task 4 (prio 115)").size(), 1u) << "its slice's begin";
  EXPECT_EQ(with(trace, "name", "task 2").size(), 1u) << "rr's slice, still open at the end: its begin";
  const auto forks = with(trace, "name", "fork");
  ASSERT_EQ(forks.size(), 1u);
  EXPECT_EQ(forks[0]["args"]["parent"], 1);
  EXPECT_EQ(forks[0]["args"]["child"], 5);
}

TEST_F(TraceWriterTest, ALateRecordOnABusyTrackIsKeptInOrderAndCounted) {
  writer_->host({.start = kOrigin + 5000, .a = 1, .kind = RecordKind::Level, .track = tracks::kCom1Line});
  writer_->flush();
  writer_->host({.start = kOrigin + 4000, .a = 0, .kind = RecordKind::Level, .track = tracks::kCom1Line});
  const auto trace = finish();
  const auto levels = with(trace, "name", "COM1 IRQ4");
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_LE(levels[0]["ts"].get<double>(), levels[1]["ts"].get<double>());
  EXPECT_EQ(trace["otherData"]["reordered_events"], 1);
}

}  // namespace
}  // namespace vmm::trace
