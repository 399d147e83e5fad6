#include "irq/Injector.h"

#include <gtest/gtest.h>

#include "FakeClock.h"

namespace vmm {
namespace {

using testing::FakeClock;
using testing::RecordingIrqLine;

constexpr std::uint64_t kMs = 1'000'000;
using Ack = Injector::Acknowledgement;

class InjectorTest : public ::testing::Test {
 protected:
  FakeClock clock;
  RecordingIrqLine edge_irq, level_irq;
  Injector injector{clock, {{"nic", 5, Trigger::Edge, &edge_irq}, {"disk", 17, Trigger::Level, &level_irq}}};
  const std::uint64_t t0 = clock.now_ns();
};

TEST_F(InjectorTest, FindsLinesByNameOrGsi) {
  EXPECT_EQ(injector.find("nic"), 0);
  EXPECT_EQ(injector.find("17"), 1);
  EXPECT_EQ(injector.find("18"), -1);
  EXPECT_EQ(injector.find("5x"), -1);
  EXPECT_THROW(injector.schedule("nope", 1, 0, t0), std::invalid_argument);
  EXPECT_THROW(injector.schedule("nic", 0, 0, t0), std::invalid_argument);
  EXPECT_THROW(injector.schedule("nic", 2, 0, t0), std::invalid_argument);
}

TEST_F(InjectorTest, EdgeBurstPulsesAtAbsoluteDeadlines) {
  injector.schedule("nic", 5, 2 * kMs, t0 + 10 * kMs);
  clock.advance_to(t0 + 10 * kMs - 1);
  EXPECT_EQ(edge_irq.rising_edges, 0u);
  clock.advance_to(t0 + 10 * kMs);
  EXPECT_EQ(edge_irq.rising_edges, 1u);
  clock.advance_to(t0 + 17 * kMs);
  EXPECT_EQ(edge_irq.rising_edges, 4u);
  clock.advance_to(t0 + 100 * kMs);
  EXPECT_EQ(edge_irq.rising_edges, 5u);
  auto stats = injector.stats();
  EXPECT_EQ(stats[0].injected, 5u);
  EXPECT_EQ(stats[0].pending, 0u);
  for (int i = 0; i < 3; ++i) injector.acknowledge(5);
  stats = injector.stats();
  EXPECT_EQ(stats[0].delivered, 3u);
  EXPECT_EQ(stats[0].coalesced, 2u);  // injected = delivered + coalesced
}

TEST_F(InjectorTest, LevelLineStaysUpUntilAcknowledgedAndCoalescesMeanwhile) {
  injector.schedule("disk", 3, kMs, t0);
  clock.advance_to(t0);
  EXPECT_TRUE(level_irq.level);
  clock.advance_to(t0 + 2 * kMs);  // two more while still up
  EXPECT_EQ(level_irq.rising_edges, 1u);
  EXPECT_EQ(injector.acknowledge(17), Ack::Delivered);
  EXPECT_FALSE(level_irq.level);
  const auto stats = injector.stats()[1];
  EXPECT_EQ(stats.injected, 3u);
  EXPECT_EQ(stats.delivered, 1u);
  EXPECT_EQ(stats.coalesced, 2u);
}

// A resample that comes before the guest's EOI re-raises a line the handler is
// about to acknowledge; the run of the handler that this causes finds nothing
// pending, and must not count as a delivery.
TEST_F(InjectorTest, AcknowledgingALevelLineThatIsDownIsSpurious) {
  injector.schedule("disk", 1, 0, t0);
  clock.advance_to(t0);
  EXPECT_EQ(injector.acknowledge(17), Ack::Delivered);
  EXPECT_EQ(injector.acknowledge(17), Ack::Spurious);
  const auto stats = injector.stats()[1];
  EXPECT_EQ(stats.delivered, 1u);
  EXPECT_EQ(stats.spurious, 1u);
  EXPECT_EQ(stats.coalesced, 0u);
}

// An edge injected after the guest took the interrupt but before its handler
// acknowledged it is delivered again after the EOI; its acknowledgement finds
// no injection outstanding and still counts, or delivered would fall short of
// what the guest counted.
TEST_F(InjectorTest, EveryAcknowledgementOfAnEdgeLineIsADelivery) {
  injector.schedule("nic", 2, kMs, t0);
  clock.advance_to(t0 + kMs);
  EXPECT_EQ(injector.acknowledge(5), Ack::Delivered);
  EXPECT_EQ(injector.acknowledge(5), Ack::Delivered);
  const auto stats = injector.stats()[0];
  EXPECT_EQ(stats.delivered, 2u);
  EXPECT_EQ(stats.coalesced, 0u);
  EXPECT_EQ(stats.spurious, 0u);
}

// Paced by acknowledgements, a guest that falls behind (a stalled vCPU) delays
// the next injection instead of having it coalesce; deadlines stay absolute, so
// a guest that keeps up sees the nominal interval.
TEST_F(InjectorTest, WaitingForTheAcknowledgementNeverCoalesces) {
  injector.schedule("nic", 4, kMs, t0, Injector::Pacing::AfterAcknowledgement);
  clock.advance_to(t0);
  EXPECT_EQ(edge_irq.rising_edges, 1u);
  clock.jump_to(t0 + 10 * kMs);  // the guest is stalled: three deadlines pass
  EXPECT_EQ(edge_irq.rising_edges, 1u);
  injector.acknowledge(5);
  clock.advance(0);  // the acknowledgement re-arms the burst's timer; the deadline is past
  EXPECT_EQ(edge_irq.rising_edges, 2u);
  clock.advance(5 * kMs);  // no acknowledgement: nothing more
  EXPECT_EQ(edge_irq.rising_edges, 2u);
  injector.acknowledge(5);
  clock.advance(0);
  injector.acknowledge(5);
  clock.advance(0);
  EXPECT_EQ(edge_irq.rising_edges, 4u);
  injector.acknowledge(5);
  const auto stats = injector.stats()[0];
  EXPECT_EQ(stats.injected, 4u);
  EXPECT_EQ(stats.delivered, 4u);
  EXPECT_EQ(stats.coalesced, 0u);
  EXPECT_EQ(stats.pending, 0u);
}

TEST_F(InjectorTest, WaitingForTheAcknowledgementKeepsTheIntervalWhenTheGuestKeepsUp) {
  injector.schedule("disk", 3, 2 * kMs, t0, Injector::Pacing::AfterAcknowledgement);
  clock.advance_to(t0);
  EXPECT_TRUE(level_irq.level);
  clock.advance_to(t0 + kMs / 10);
  injector.acknowledge(17);
  clock.advance_to(t0 + 2 * kMs - 1);
  EXPECT_EQ(level_irq.rising_edges, 1u);
  clock.advance_to(t0 + 2 * kMs);
  EXPECT_EQ(level_irq.rising_edges, 2u);
}

TEST_F(InjectorTest, LatencyFromInjectionToAcknowledgement) {
  for (int i = 0; i < 100; ++i) {
    injector.schedule("nic", 1, 0, clock.now_ns());
    clock.advance(0);
    clock.advance(i < 98 ? 20'000 : 900'000);  // 20 us, and two slow ones
    injector.acknowledge(5);
  }
  const auto stats = injector.stats()[0];
  EXPECT_EQ(stats.latency.samples, 100u);
  EXPECT_EQ(stats.latency.p50_ns, 20'000u);
  EXPECT_EQ(stats.latency.p99_ns, 900'000u);
  EXPECT_EQ(stats.latency.max_ns, 900'000u);
  EXPECT_EQ(stats.coalesced, 0u);
  using Bucket = std::pair<std::uint64_t, std::uint32_t>;
  EXPECT_EQ(stats.latency.histogram, (std::vector<Bucket>{{20'000, 98}, {900'000, 2}}));
}

// The wake mark times the injection to the woken task, as the acknowledgement
// times it to the handler: same clock, same buckets, same percentiles.
TEST_F(InjectorTest, WakeLatencyFromInjectionToTheWakeMark) {
  for (int i = 0; i < 100; ++i) {
    injector.schedule("nic", 1, 0, clock.now_ns());
    clock.advance(0);
    clock.advance(20'000);  // injection -> handler
    injector.acknowledge(5);
    clock.advance(i < 98 ? 30'000 : 2'000'000);  // handler -> woken task; two slow wake-ups
    EXPECT_TRUE(injector.wake_mark(5));
  }
  const auto stats = injector.stats()[0];
  EXPECT_EQ(stats.latency.samples, 100u);
  EXPECT_EQ(stats.latency.p99_ns, 20'000u);
  EXPECT_EQ(stats.wake_marks, 100u);
  EXPECT_EQ(stats.wake_latency.samples, 100u);
  EXPECT_EQ(stats.wake_latency.p50_ns, 50'000u);
  EXPECT_EQ(stats.wake_latency.p99_ns, 2'020'000u);
  EXPECT_EQ(stats.wake_latency.max_ns, 2'020'000u);
  using Bucket = std::pair<std::uint64_t, std::uint32_t>;
  EXPECT_EQ(stats.wake_latency.histogram, (std::vector<Bucket>{{50'000, 98}, {2'020'000, 2}}));
}

// A wake mark that arrives after the next injection (the pacing waits for the
// acknowledgement, not for the task) still answers the injection it woke for.
TEST_F(InjectorTest, AWakeMarkAfterTheNextInjectionPairsWithItsOwn) {
  injector.schedule("nic", 2, 100'000, t0, Injector::Pacing::AfterAcknowledgement);
  clock.advance_to(t0 + 10'000);
  injector.acknowledge(5);
  clock.advance_to(t0 + 150'000);  // the second injection fires at 100 us
  EXPECT_EQ(edge_irq.rising_edges, 2u);
  injector.wake_mark(5);
  const auto stats = injector.stats()[0];
  EXPECT_EQ(stats.wake_latency.samples, 1u);
  EXPECT_EQ(stats.wake_latency.max_ns, 150'000u);
}

// Two acknowledgements before the task ran: the first mark answers the older
// one, whose injection time is gone, and is not a sample; the second answers
// the newer one and is.
TEST_F(InjectorTest, AWakeMarkBehindTwoAcknowledgementsIsNotASample) {
  injector.schedule("nic", 1, 0, t0);
  clock.advance_to(t0 + 10'000);
  injector.acknowledge(5);
  injector.schedule("nic", 1, 0, t0 + 20'000);
  clock.advance_to(t0 + 30'000);
  injector.acknowledge(5);
  clock.advance_to(t0 + 50'000);
  injector.wake_mark(5);
  auto stats = injector.stats()[0];
  EXPECT_EQ(stats.wake_marks, 1u);
  EXPECT_EQ(stats.wake_latency.samples, 0u);
  clock.advance_to(t0 + 60'000);
  injector.wake_mark(5);
  stats = injector.stats()[0];
  EXPECT_EQ(stats.wake_latency.samples, 1u);
  EXPECT_EQ(stats.wake_latency.max_ns, 40'000u);  // from the second injection, at 20 us
}

// An acknowledgement that served coalesced injections has no one injection to
// time from; nor has its wake-up.
TEST_F(InjectorTest, AWakeUpFromCoalescedInjectionsIsNotASample) {
  injector.schedule("nic", 2, 1'000, t0);
  clock.advance_to(t0 + 5'000);
  injector.acknowledge(5);
  injector.wake_mark(5);
  const auto stats = injector.stats()[0];
  EXPECT_EQ(stats.latency.samples, 0u);
  EXPECT_EQ(stats.wake_marks, 1u);
  EXPECT_EQ(stats.wake_latency.samples, 0u);
}

TEST_F(InjectorTest, StrayWakeMarksAreCountedApart) {
  EXPECT_FALSE(injector.wake_mark(9));
  EXPECT_EQ(injector.stray_wake_marks(), 1u);
  EXPECT_EQ(injector.stats()[0].wake_marks, 0u);
}

// Each delivery is counted for the vCPU whose handler acknowledged it; a
// spurious acknowledgement is not a delivery, on any vCPU.
TEST(InjectorVcpus, DeliveriesAreCountedByTheAcknowledgingVcpu) {
  FakeClock clock;
  RecordingIrqLine edge_irq, level_irq;
  Injector injector{clock, {{"nic", 5, Trigger::Edge, &edge_irq}, {"disk", 17, Trigger::Level, &level_irq}}, 3};
  const std::uint64_t t0 = clock.now_ns();
  injector.schedule("nic", 4, kMs, t0);
  clock.advance_to(t0 + 3 * kMs);
  EXPECT_EQ(injector.acknowledge(5, 0u), Ack::Delivered);
  EXPECT_EQ(injector.acknowledge(5, 2u), Ack::Delivered);
  EXPECT_EQ(injector.acknowledge(5, 2u), Ack::Delivered);
  EXPECT_EQ(injector.acknowledge(5), Ack::Delivered);  // from no known vCPU: a delivery, on nobody's count
  injector.schedule("disk", 1, 0, clock.now_ns());
  clock.advance(0);
  EXPECT_EQ(injector.acknowledge(17, 1u), Ack::Delivered);
  EXPECT_EQ(injector.acknowledge(17, 2u), Ack::Spurious);
  EXPECT_EQ(injector.acknowledge(9, 1u), Ack::NotALine);
  const auto stats = injector.stats();
  EXPECT_EQ(stats[0].delivered, 4u);
  EXPECT_EQ(stats[0].delivered_by_vcpu, (std::vector<std::uint64_t>{1, 0, 2}));
  EXPECT_EQ(stats[1].delivered, 1u);
  EXPECT_EQ(stats[1].delivered_by_vcpu, (std::vector<std::uint64_t>{0, 1, 0}));
}

TEST_F(InjectorTest, AVcpuBeyondTheCountIsStillCounted) {
  injector.schedule("nic", 1, 0, t0);
  clock.advance_to(t0);
  injector.acknowledge(5, 3u);
  EXPECT_EQ(injector.stats()[0].delivered_by_vcpu, (std::vector<std::uint64_t>{0, 0, 0, 1}));
  EXPECT_EQ(injector.stats()[1].delivered_by_vcpu, (std::vector<std::uint64_t>{0}));
}

// A host where each injection costs more than the burst's interval (an eventfd
// write takes longer than 1 us under a sanitizer or on a loaded machine): every
// read of the time finds it 2 us later. Catching up on what fell due must not
// grow without bound: each timer callback injects at most a batch and then
// gives the event loop back (the control socket, the PIT, other lines).
class SlowClock final : public Clock {
 public:
  std::uint64_t now_ns() const override { return now_ += 2'000; }
  std::unique_ptr<DeadlineTimer> make_timer(std::function<void()> on_deadline) override {
    auto timer = std::make_unique<Timer>(std::move(on_deadline));
    timers.push_back(timer.get());
    return timer;
  }
  struct Timer final : DeadlineTimer {
    explicit Timer(std::function<void()> cb) : callback(std::move(cb)) {}
    void arm(std::uint64_t) override { armed = true; }
    void disarm() override { armed = false; }
    std::function<void()> callback;
    bool armed = false;
  };
  std::vector<Timer*> timers;

 private:
  mutable std::uint64_t now_ = 1'000'000'000;
};

TEST(InjectorBatches, ABurstFasterThanTheHostInjectsInBatchesThatYieldToTheLoop) {
  SlowClock clock;
  RecordingIrqLine irq;
  Injector injector{clock, {{"nic", 5, Trigger::Edge, &irq}}};
  constexpr std::uint64_t kCount = 200'000;
  injector.schedule("nic", kCount, 1'000, clock.now_ns());
  ASSERT_EQ(clock.timers.size(), 1u);
  auto* timer = clock.timers.front();
  std::size_t callbacks = 0;
  unsigned largest_batch = 0;
  while (timer->armed && callbacks < 10 * kCount) {
    timer->armed = false;
    const unsigned before = irq.rising_edges;
    timer->callback();
    ++callbacks;
    largest_batch = std::max(largest_batch, irq.rising_edges - before);
  }
  EXPECT_EQ(irq.rising_edges, kCount);
  EXPECT_EQ(injector.stats()[0].injected, kCount);
  EXPECT_EQ(injector.stats()[0].pending, 0u);
  EXPECT_LE(largest_batch, Injector::kMaxInjectionsPerTurn);
  EXPECT_GE(callbacks, kCount / Injector::kMaxInjectionsPerTurn);
}

TEST_F(InjectorTest, StrayAcknowledgementsAreCountedApart) {
  EXPECT_EQ(injector.acknowledge(9), Ack::NotALine);
  EXPECT_EQ(injector.stray_acknowledgements(), 1u);
}

}  // namespace
}  // namespace vmm
