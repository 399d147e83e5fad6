#include "devices/Pit8254.h"

#include <gtest/gtest.h>

#include "FakeClock.h"

namespace vmm {
namespace {

using testing::FakeClock;
using testing::RecordingIrqLine;

constexpr std::uint64_t kSecond = 1'000'000'000;

// Counter 0 in mode 2 (rate generator) with `divisor`, as a kernel programs its tick.
void program_rate_generator(Pit8254& pit, std::uint16_t divisor) {
  const std::uint8_t bytes[] = {0x34, static_cast<std::uint8_t>(divisor), static_cast<std::uint8_t>(divisor >> 8)};
  pit.write(3, std::span(bytes, 1));
  pit.write(0, std::span(bytes + 1, 1));
  pit.write(0, std::span(bytes + 2, 1));
}

class Pit8254Test : public ::testing::Test {
 protected:
  void out(std::uint64_t port, std::uint8_t value) { pit.write(port - 0x40, std::span<const std::uint8_t>(&value, 1)); }
  std::uint8_t in(std::uint64_t port) {
    std::uint8_t value = 0;
    pit.read(port - 0x40, std::span(&value, 1));
    return value;
  }
  std::uint16_t read_lsb_msb(std::uint64_t port) {
    const std::uint8_t lsb = in(port);
    return static_cast<std::uint16_t>(lsb | in(port) << 8);
  }
  std::uint8_t read_status(unsigned counter) {
    out(0x43, static_cast<std::uint8_t>(0xe0 | (2 << counter)));  // read-back, status only
    return in(0x40 + counter);
  }
  // Ticks of the 1.193182 MHz input clock in `ns`, as the model counts them.
  static std::uint64_t ticks(std::uint64_t ns) { return ns * Pit8254::kInputHz / kSecond; }
  // Moves the clock to `clocks` input clocks after the fixture's start.
  void advance_to_clock(std::uint64_t clocks) {
    clock.advance_to(start_ + (clocks * kSecond + Pit8254::kInputHz - 1) / Pit8254::kInputHz);
  }

  FakeClock clock;
  const std::uint64_t start_ = clock.now_ns();
  RecordingIrqLine irq0;
  Pit8254 pit{clock, irq0};
};

TEST_F(Pit8254Test, PeriodicModesFireIrq0AtAbsoluteDeadlinesWithoutDrift) {
  struct Case {
    std::uint8_t control;
    std::uint16_t divisor;
  };
  for (const Case c : {Case{0x34, 1193}, Case{0x36, 1193}, Case{0x34, 11932}, Case{0x36, 0}}) {
    SCOPED_TRACE(std::to_string(c.control) + " divisor " + std::to_string(c.divisor));
    FakeClock clock;
    RecordingIrqLine irq;
    Pit8254 pit(clock, irq);
    const std::uint8_t bytes[] = {c.control, static_cast<std::uint8_t>(c.divisor),
                                  static_cast<std::uint8_t>(c.divisor >> 8)};
    pit.write(3, std::span(bytes, 1));
    pit.write(0, std::span(bytes + 1, 1));
    pit.write(0, std::span(bytes + 2, 1));
    const std::uint64_t period = c.divisor == 0 ? 65536 : c.divisor;
    clock.advance(10 * kSecond);
    EXPECT_EQ(irq.rising_edges, ticks(10 * kSecond) / period);
    EXPECT_EQ(pit.stats().missed_edges, 0u);
  }
}

TEST_F(Pit8254Test, LateHostTimerLosesEdgesInPulseModeButReinjectDeliversThemOnEoi) {
  // A host that stalls for 10 periods: the timer fires once, late.
  for (const auto delivery : {Pit8254::Irq0Delivery::Pulse, Pit8254::Irq0Delivery::Reinject}) {
    FakeClock clock;
    RecordingIrqLine irq;
    Pit8254 pit(clock, irq, delivery);
    program_rate_generator(pit, 1193);  // ~1 kHz
    const std::uint64_t period_ns = 1193 * kSecond / Pit8254::kInputHz + 1;
    clock.jump_to(clock.now_ns() + 10 * period_ns + period_ns / 2);
    if (delivery == Pit8254::Irq0Delivery::Pulse) {
      EXPECT_EQ(irq.rising_edges, 1u);
      EXPECT_EQ(pit.stats().missed_edges, 9u);
      continue;
    }
    EXPECT_EQ(irq.rising_edges, 1u);
    EXPECT_TRUE(irq.level) << "held until the guest's EOI";
    for (int eoi = 0; eoi < 9; ++eoi) pit.irq0_acknowledged();
    EXPECT_EQ(irq.rising_edges, 10u) << "every owed tick, one per EOI";
    pit.irq0_acknowledged();
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(pit.stats().irq_edges, 10u);
  }
}

TEST_F(Pit8254Test, ReinjectTakesAnEoiMissingForTwoPeriodsAsLostAndRaisesAfresh) {
  // Linux masks IRQ0 and resets its 8259 while an edge is pending when it
  // moves the timer to the IOAPIC: that EOI never comes.
  FakeClock clock;
  RecordingIrqLine irq;
  Pit8254 pit(clock, irq, Pit8254::Irq0Delivery::Reinject);
  program_rate_generator(pit, 1193);  // ~1 kHz
  const std::uint64_t period_ns = 1193 * kSecond / Pit8254::kInputHz + 1;
  clock.advance(period_ns);
  EXPECT_EQ(irq.rising_edges, 1u);
  clock.advance(period_ns);
  EXPECT_EQ(irq.rising_edges, 1u) << "one period without the EOI: still waiting (owed)";
  EXPECT_EQ(pit.stats().lost_eois, 0u);
  clock.advance(period_ns);
  EXPECT_EQ(pit.stats().lost_eois, 1u);
  EXPECT_EQ(irq.rising_edges, 2u) << "lowered and raised again: a new edge for the unmasked pin";
  EXPECT_TRUE(irq.level);
  // The guest takes it and the owed ticks follow, one per EOI, as before.
  pit.irq0_acknowledged();
  EXPECT_EQ(irq.rising_edges, 3u);
  // A guest that keeps up never sees the rule.
  for (int tick = 0; tick < 20; ++tick) {
    pit.irq0_acknowledged();
    clock.advance(period_ns);
  }
  EXPECT_EQ(pit.stats().lost_eois, 1u);
}

TEST_F(Pit8254Test, AnEoiQueuedBehindALateDeadlineIsNotTakenAsLost) {
  // A loaded host: the event loop wakes 5 periods late, and the guest's EOI,
  // which came in time, waits in the same loop behind the PIT's deadline.
  // Taking it for lost would withdraw the line and lose ticks (and, on a
  // loaded CI runner, starve the guest of them).
  FakeClock clock;
  RecordingIrqLine irq;
  Pit8254 pit(clock, irq, Pit8254::Irq0Delivery::Reinject);
  program_rate_generator(pit, 1193);  // ~1 kHz
  const std::uint64_t period_ns = 1193 * kSecond / Pit8254::kInputHz + 1;
  clock.advance(period_ns);
  ASSERT_EQ(irq.rising_edges, 1u);
  EXPECT_EQ(clock.jump_to(clock.now_ns() + 5 * period_ns, 1), 1u) << "the late deadline runs first";
  pit.irq0_acknowledged();  // then the EOI's notification, queued meanwhile
  clock.jump_to(clock.now_ns());
  EXPECT_EQ(pit.stats().lost_eois, 0u);
  EXPECT_EQ(irq.rising_edges, 2u) << "the owed ticks follow the EOI, one at a time";
  // An EOI that really is missing is still taken for lost, one round later.
  clock.advance(3 * period_ns);
  EXPECT_EQ(pit.stats().lost_eois, 1u);
}

TEST_F(Pit8254Test, AGuestThatNeverAcknowledgesCostsTheHostLessThanOneThatDoes) {
  // Channel 0 at divisor 2 (~600 kHz) for a second: once with an EOI for every
  // tick, once with interrupts off and never an EOI (random programming does
  // this). The second must cost fewer timer wakeups and at most a few dozen
  // retractions (two KVM_IRQFD ioctls each), yet still re-raise within
  // kMaxLostEoiWaitNs for a guest that unmasks IRQ0 late.
  std::size_t wakeups_with_eois = 0;
  for (const bool eoi : {true, false}) {
    SCOPED_TRACE(eoi ? "an EOI per tick" : "never an EOI");
    FakeClock clock;
    RecordingIrqLine irq;
    Pit8254 pit(clock, irq, Pit8254::Irq0Delivery::Reinject);
    program_rate_generator(pit, 2);
    const std::uint64_t start = clock.now_ns();
    std::uint64_t last_lost = 0, lost_at = start, longest_wait = 0;
    while (clock.now_ns() < start + kSecond) {
      clock.advance(1'000);  // shorter than a period (1676 ns): the EOI guest keeps up
      if (eoi && irq.level) pit.irq0_acknowledged();
      if (pit.stats().lost_eois != last_lost) {
        last_lost = pit.stats().lost_eois;
        longest_wait = std::max(longest_wait, clock.now_ns() - lost_at);
        lost_at = clock.now_ns();
      }
    }
    const auto stats = pit.stats();
    if (eoi) {
      wakeups_with_eois = clock.wakeups();
      EXPECT_EQ(stats.lost_eois, 0u);
      continue;
    }
    EXPECT_LT(clock.wakeups(), wakeups_with_eois / 10);
    EXPECT_GE(stats.lost_eois, 10u) << "every kMaxLostEoiWaitNs at least, for a guest that unmasks late";
    EXPECT_LE(stats.lost_eois, 40u);
    EXPECT_LE(longest_wait, Pit8254::kMaxLostEoiWaitNs + 20'000);
    EXPECT_EQ(stats.irq_edges, stats.lost_eois + 1) << "one raise, then one per lost EOI";
    // The guest's first EOI starts over: the owed ticks follow, one per EOI.
    const std::uint64_t raised = irq.rising_edges;
    pit.irq0_acknowledged();
    EXPECT_EQ(irq.rising_edges, raised + 1);
    // Every edge is accounted for: raised, still owed, or dropped beyond
    // kMaxReinjected (the ones since the last wakeup counted at the EOI).
    const auto after = pit.stats();
    const std::uint64_t edges = ticks(clock.now_ns() - start) / 2;
    EXPECT_NEAR(static_cast<double>(after.irq_edges + Pit8254::kMaxReinjected - 1 + after.dropped_reinjects),
                static_cast<double>(edges), 2.0);
    EXPECT_TRUE(irq.level);
  }
}

TEST_F(Pit8254Test, LiveCountDecrementsInMode2AndReloads) {
  out(0x43, 0x34);
  out(0x40, 100);
  out(0x40, 0);
  EXPECT_EQ(read_lsb_msb(0x40), 100);
  advance_to_clock(30);
  EXPECT_EQ(read_lsb_msb(0x40), 70);
  advance_to_clock(110);  // one reload, 10 clocks into the next period
  EXPECT_EQ(read_lsb_msb(0x40), 90);
  EXPECT_EQ(irq0.rising_edges, 1u);
}

TEST_F(Pit8254Test, Mode3CountsDownByTwoAndOutIsASquareWave) {
  out(0x43, 0xb6);  // counter 2, LSB/MSB, mode 3
  out(0x42, 0xe8);
  out(0x42, 0x03);  // 1000
  SystemControlPort port61(pit, clock);
  std::uint8_t gate_on = 0x01;
  port61.write(0, std::span<const std::uint8_t>(&gate_on, 1));
  auto out2 = [&] {
    std::uint8_t value;
    port61.read(0, std::span(&value, 1));
    return (value & 0x20) != 0;
  };
  EXPECT_TRUE(out2());
  clock.advance(100 * kSecond / Pit8254::kInputHz + 1);  // 100 clocks: count 1000 - 200
  EXPECT_EQ(read_lsb_msb(0x42), 800);
  clock.advance(450 * kSecond / Pit8254::kInputHz);  // 550 clocks: second half, OUT low
  EXPECT_FALSE(out2());
  clock.advance(500 * kSecond / Pit8254::kInputHz);  // 1050: next period, high again
  EXPECT_TRUE(out2());
}

TEST_F(Pit8254Test, CounterLatchFreezesTheValueUntilBothBytesAreRead) {
  out(0x43, 0x34);
  out(0x40, 0x00);
  out(0x40, 0x10);  // 4096
  clock.advance(1000 * kSecond / Pit8254::kInputHz + 1);
  out(0x43, 0x00);  // latch counter 0
  clock.advance(500 * kSecond / Pit8254::kInputHz);
  out(0x43, 0x00);  // a second latch before reading is ignored
  EXPECT_EQ(read_lsb_msb(0x40), 4096 - 1000);
  EXPECT_EQ(read_lsb_msb(0x40), 4096 - 1500);  // latch released: live again
}

TEST_F(Pit8254Test, ReadBackStatusReportsOutNullCountAndProgramming) {
  out(0x43, 0x34);  // counter 0, LSB/MSB, mode 2, binary
  EXPECT_EQ(read_status(0), 0x80 | 0x40 | 0x30 | 0x04);  // OUT high, NULL COUNT
  out(0x40, 0x00);
  out(0x40, 0x01);
  EXPECT_EQ(read_status(0), 0x80 | 0x30 | 0x04);
  out(0x43, 0xb0);  // counter 2, LSB/MSB, mode 0
  EXPECT_EQ(read_status(2), 0x40 | 0x30);  // mode 0: OUT low after the control word
}

TEST_F(Pit8254Test, ReadBackLatchesStatusThenCountForSeveralCounters) {
  out(0x43, 0x34);
  out(0x40, 0x00);
  out(0x40, 0x02);  // 512
  out(0x43, 0x74);  // counter 1, mode 2
  out(0x41, 0x00);
  out(0x41, 0x04);  // 1024
  clock.advance(12 * kSecond / Pit8254::kInputHz + 1);
  out(0x43, 0xc6);  // read-back: count and status of counters 0 and 1
  clock.advance(100 * kSecond / Pit8254::kInputHz);
  EXPECT_EQ(in(0x40), 0x80 | 0x34);  // status first: OUT high, programming as written
  EXPECT_EQ(read_lsb_msb(0x40), 500);
  EXPECT_EQ(in(0x41), 0x80 | 0x34);  // the status has no counter-select bits
  EXPECT_EQ(read_lsb_msb(0x41), 1012);
}

TEST_F(Pit8254Test, Mode0OneShotRaisesIrq0OnceAtTerminalCount) {
  out(0x43, 0x30);
  out(0x40, 0xa9);
  out(0x40, 0x04);  // 1193 clocks: just under 1 ms
  EXPECT_EQ(read_status(0) & 0x80, 0);
  clock.advance(999'000);
  EXPECT_EQ(irq0.rising_edges, 0u);
  clock.advance(2'000);
  EXPECT_EQ(irq0.rising_edges, 1u);
  EXPECT_EQ(read_status(0) & 0x80, 0x80);
  clock.advance(kSecond);
  EXPECT_EQ(irq0.rising_edges, 1u);
}

TEST_F(Pit8254Test, Mode2NewCountTakesEffectAtTheEndOfThePeriod) {
  out(0x43, 0x34);
  out(0x40, 0xe8);
  out(0x40, 0x03);  // 1000
  clock.advance(400 * kSecond / Pit8254::kInputHz + 1);
  out(0x40, 0x64);
  out(0x40, 0x00);  // 100, pending
  EXPECT_EQ(read_lsb_msb(0x40), 600);
  clock.advance(600 * kSecond / Pit8254::kInputHz + 1);  // the reload point
  EXPECT_EQ(irq0.rising_edges, 1u);
  clock.advance(1000 * kSecond / Pit8254::kInputHz);
  EXPECT_EQ(irq0.rising_edges, 11u);
}

TEST_F(Pit8254Test, AccessModesLsbOnlyAndMsbOnly) {
  out(0x43, 0x10);  // counter 0, LSB only, mode 0
  out(0x40, 0x80);
  EXPECT_EQ(in(0x40), 0x80);
  EXPECT_EQ(in(0x40), 0x80);  // no flip-flop: every read is the LSB
  out(0x43, 0x20);  // MSB only
  out(0x40, 0x02);  // count 0x200
  EXPECT_EQ(in(0x40), 0x02);
}

TEST_F(Pit8254Test, BcdCountsInDecimalAndZeroMeansTenThousand) {
  out(0x43, 0x35);  // counter 0, LSB/MSB, mode 2, BCD
  out(0x40, 0x00);
  out(0x40, 0x00);  // 0 = 10000
  clock.advance(1 * kSecond / Pit8254::kInputHz + 1);
  EXPECT_EQ(read_lsb_msb(0x40), 0x9999);
  out(0x40, 0x34);
  out(0x40, 0x12);  // 1234 decimal, applies at the end of the period
  clock.advance(9999 * kSecond / Pit8254::kInputHz + 1);
  clock.advance(34 * kSecond / Pit8254::kInputHz);
  EXPECT_EQ(read_lsb_msb(0x40), 0x1200);
}

TEST_F(Pit8254Test, CalibrationPatternOnCounter2ThroughPort61) {
  // Linux pit_calibrate_tsc: gate high, speaker off, mode 0 with 0xffff... here
  // with a 50 ms count, then poll port 0x61 bit 5 until OUT2 rises.
  SystemControlPort port61(pit, clock);
  auto write61 = [&](std::uint8_t value) { port61.write(0, std::span<const std::uint8_t>(&value, 1)); };
  auto read61 = [&] {
    std::uint8_t value;
    port61.read(0, std::span(&value, 1));
    return value;
  };
  write61(static_cast<std::uint8_t>((read61() & ~0x02) | 0x01));
  out(0x43, 0xb0);
  const std::uint16_t latch = static_cast<std::uint16_t>(Pit8254::kInputHz / 20);
  out(0x42, latch & 0xff);
  out(0x42, latch >> 8);
  EXPECT_EQ(read61() & 0x21, 0x01);  // gate on, OUT2 low
  clock.advance(49'999'000);
  EXPECT_EQ(read61() & 0x20, 0);
  clock.advance(2'000);
  EXPECT_EQ(read61() & 0x20, 0x20);
  EXPECT_EQ(irq0.rising_edges, 0u);  // counter 2 is not wired to IRQ0
}

}  // namespace
}  // namespace vmm
