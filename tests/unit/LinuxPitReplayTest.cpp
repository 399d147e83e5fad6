// Replays, port access for port access, how Linux uses the 8254 PIT and port 0x61
// on x86, with time passing on a fake clock between accesses, and checks that
// Linux computes what it computes on a real PC:
//   arch/x86/kernel/tsc.c        pit_calibrate_tsc(), quick_pit_calibrate() with
//                                pit_verify_msb()/pit_expect_msb() (Linux 6.x)
//   drivers/clocksource/i8253.c  i8253_read() (the PIT clocksource), the
//                                clockevent's periodic, oneshot and shutdown
//                                sequences (clockevent_i8253_disable())
//   drivers/input/misc/pcspkr.c  pcspkr_event()
// The TSC of these replays is the fake clock itself: a 1 GHz counter, so a
// correct PIT makes Linux compute tsc_khz = 1'000'000.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "FakeClock.h"
#include "devices/Pit8254.h"

namespace vmm {
namespace {

using testing::FakeClock;
using testing::RecordingIrqLine;

constexpr std::uint64_t PIT_TICK_RATE = 1'193'182;  // CLOCK_TICK_RATE
constexpr std::uint16_t PIT_MODE = 0x43, PIT_CH0 = 0x40, PIT_CH2 = 0x42;
constexpr unsigned HZ = 1000;
constexpr std::uint32_t PIT_LATCH = (PIT_TICK_RATE + HZ / 2) / HZ;  // 1193
constexpr unsigned long ULONG_MAX_ = std::numeric_limits<unsigned long>::max();

constexpr unsigned long CAL_MS = 10;
constexpr std::uint32_t CAL_LATCH = PIT_TICK_RATE / (1000 / CAL_MS);  // 11931
constexpr int CAL_PIT_LOOPS = 1000;
constexpr unsigned long CAL2_MS = 50;
constexpr std::uint32_t CAL2_LATCH = PIT_TICK_RATE / (1000 / CAL2_MS);  // 59659
constexpr int CAL2_PIT_LOOPS = 5000;

constexpr unsigned long MAX_QUICK_PIT_MS = 50;
constexpr unsigned long MAX_QUICK_PIT_ITERATIONS = MAX_QUICK_PIT_MS * PIT_TICK_RATE / 1000 / 256;  // 233

constexpr std::uint64_t kTscKhz = 1'000'000;  // the fake clock counts nanoseconds
constexpr std::uint64_t kSecond = 1'000'000'000;

// First moment at which `ticks` input clocks have passed.
std::uint64_t ticks_to_ns(std::uint64_t ticks) { return (ticks * kSecond + PIT_TICK_RATE - 1) / PIT_TICK_RATE; }
// Input clocks in `ns`.
std::uint64_t ns_to_ticks(std::uint64_t ns) { return ns * PIT_TICK_RATE / kSecond; }

class LinuxPitReplay : public ::testing::Test {
 protected:
  // Each port access happens at the current time and then takes io_ns, as an
  // ISA cycle or a VM exit does; everything else the CPU does is free.
  std::uint8_t inb(std::uint16_t port) {
    std::uint8_t value = 0xff;
    if (port >= 0x40 && port <= 0x43) pit.read(port - 0x40, std::span(&value, 1));
    if (port == 0x61) port61.read(0, std::span(&value, 1));
    clock.advance(io_ns);
    return value;
  }
  void outb(std::uint8_t value, std::uint16_t port) {  // Linux's argument order
    if (port >= 0x40 && port <= 0x43) pit.write(port - 0x40, std::span<const std::uint8_t>(&value, 1));
    if (port == 0x61) port61.write(0, std::span<const std::uint8_t>(&value, 1));
    clock.advance(io_ns);
  }
  std::uint64_t get_cycles() const { return clock.now_ns(); }

  std::uint64_t io_ns = 1000;
  FakeClock clock;
  RecordingIrqLine irq0;
  Pit8254 pit{clock, irq0};
  SystemControlPort port61{pit, clock};
};

// ---------------------------------------------------------------------------
// pit_calibrate_tsc(): counter 2 in mode 0 counts `latch` clocks; the CPU polls
// OUT2 on port 0x61 bit 5 and measures the TSC over the wait.

struct PitCalibration {
  unsigned long tsc_khz = ULONG_MAX_;
  int pitcnt = 0;
  std::uint64_t loaded_at = 0;     // the MSB write that starts the count
  std::uint64_t last_low_at = 0;   // the last poll that read OUT2 = 0
  std::uint64_t first_high_at = 0; // the poll that read OUT2 = 1
};

class LinuxPitCalibrateTsc : public LinuxPitReplay,
                             public ::testing::WithParamInterface<std::tuple<std::uint64_t, bool>> {
 protected:
  PitCalibration pit_calibrate_tsc(std::uint32_t latch, unsigned long ms, int loopmin) {
    PitCalibration result;
    outb(static_cast<std::uint8_t>((inb(0x61) & ~0x02) | 0x01), 0x61);  // gate high, speaker off
    outb(0xb0, PIT_MODE);                                               // counter 2, LSB/MSB, mode 0, binary
    outb(latch & 0xff, PIT_CH2);
    result.loaded_at = clock.now_ns();
    outb(static_cast<std::uint8_t>(latch >> 8), PIT_CH2);

    std::uint64_t tsc, t1, t2;
    tsc = t1 = t2 = get_cycles();
    int pitcnt = 0;
    unsigned long tscmax = 0, tscmin = ULONG_MAX_;
    while (true) {
      const std::uint64_t polled_at = clock.now_ns();
      if (inb(0x61) & 0x20) {
        result.first_high_at = polled_at;
        break;
      }
      result.last_low_at = polled_at;
      t2 = get_cycles();
      const std::uint64_t delta = t2 - tsc;
      tsc = t2;
      if (static_cast<unsigned long>(delta) < tscmin) tscmin = static_cast<unsigned int>(delta);
      if (static_cast<unsigned long>(delta) > tscmax) tscmax = static_cast<unsigned int>(delta);
      pitcnt++;
      if (pitcnt > 10'000'000) break;  // OUT2 never rises: give up instead of hanging
    }
    result.pitcnt = pitcnt;
    if (pitcnt < loopmin || tscmax > 10 * tscmin) return result;  // ULONG_MAX: calibration failed
    result.tsc_khz = static_cast<unsigned long>((t2 - t1) / ms);
    return result;
  }
};

TEST_P(LinuxPitCalibrateTsc, LinuxPitCalibrateTsc_Out2RisesAfterTheLatchAndTheTscRateComesOutRight) {
  const auto [step_ns, fifty_ms] = GetParam();
  io_ns = step_ns;
  const std::uint32_t latch = fifty_ms ? CAL2_LATCH : CAL_LATCH;
  const unsigned long ms = fifty_ms ? CAL2_MS : CAL_MS;
  const PitCalibration cal = pit_calibrate_tsc(latch, ms, fifty_ms ? CAL2_PIT_LOOPS : CAL_PIT_LOOPS);

  // OUT2 is low until `latch` input clocks have passed, then high.
  const std::uint64_t out2_rises = cal.loaded_at + ticks_to_ns(latch);
  EXPECT_LT(cal.last_low_at, out2_rises);
  EXPECT_GE(cal.first_high_at, out2_rises);
  EXPECT_LT(cal.first_high_at, out2_rises + step_ns);
  // Polls times the step is the latch interval, within one step.
  const auto polled = static_cast<std::int64_t>(cal.pitcnt * step_ns);
  EXPECT_LE(std::llabs(polled - static_cast<std::int64_t>(ticks_to_ns(latch))), static_cast<std::int64_t>(step_ns));

  // Linux accepts the run and computes the fake clock's rate: off by at most one
  // step over the interval, plus Linux's own rounding (latch / PIT_TICK_RATE is a
  // hair under `ms`).
  ASSERT_NE(cal.tsc_khz, ULONG_MAX_) << "Linux rejects the calibration: pitcnt " << cal.pitcnt;
  const double rounding_ns = static_cast<double>(ms) * 1e6 - static_cast<double>(latch) * 1e9 / PIT_TICK_RATE;
  const double tolerance_khz = (static_cast<double>(step_ns) + rounding_ns) / static_cast<double>(ms) + 1;
  EXPECT_NEAR(static_cast<double>(cal.tsc_khz), static_cast<double>(kTscKhz), tolerance_khz);
  EXPECT_EQ(irq0.rising_edges, 0u) << "counter 2 is not wired to IRQ 0";
}

INSTANTIATE_TEST_SUITE_P(StepsAndLatches, LinuxPitCalibrateTsc,
                         ::testing::Combine(::testing::Values<std::uint64_t>(1000, 333, 4321), ::testing::Bool()),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "ns" +
                                  (std::get<1>(info.param) ? "Cal2_50ms" : "Cal_10ms");
                         });

// ---------------------------------------------------------------------------
// quick_pit_calibrate(): counter 2 counts down from 0xffff; Linux reads it
// unlatched, LSB then MSB, and times the MSB's steps of 256 input clocks.

struct MsbRead {
  std::uint64_t at;  // when the MSB was read
  std::uint8_t msb;
};

class LinuxQuickPitCalibrate : public LinuxPitReplay, public ::testing::WithParamInterface<std::uint64_t> {
 protected:
  bool pit_verify_msb(std::uint8_t val) {
    inb(PIT_CH2);  // ignore LSB
    const std::uint64_t at = clock.now_ns();
    const std::uint8_t msb = inb(PIT_CH2);
    msbs.push_back({at, msb});
    return msb == val;
  }

  bool pit_expect_msb(std::uint8_t val, std::uint64_t* tscp, unsigned long* deltap) {
    int count;
    std::uint64_t tsc = 0, prev_tsc = 0;
    for (count = 0; count < 50000; count++) {
      if (!pit_verify_msb(val)) break;
      prev_tsc = tsc;
      tsc = get_cycles();
    }
    *deltap = static_cast<unsigned long>(get_cycles() - prev_tsc);
    *tscp = tsc;
    return count > 5;  // some success; the quality control is on the TSC error terms
  }

  unsigned long quick_pit_calibrate() {
    outb(static_cast<std::uint8_t>((inb(0x61) & ~0x02) | 0x01), 0x61);
    outb(0xb0, PIT_MODE);
    outb(0xff, PIT_CH2);
    loaded_at = clock.now_ns();
    outb(0xff, PIT_CH2);
    pit_verify_msb(0);  // a necessary delay, and it primes the read flip-flop

    std::uint64_t tsc, delta;
    unsigned long d1, d2;
    unsigned long i;
    if (pit_expect_msb(0xff, &tsc, &d1)) {
      for (i = 1; i <= MAX_QUICK_PIT_ITERATIONS; i++) {
        if (!pit_expect_msb(static_cast<std::uint8_t>(0xff - i), &delta, &d2)) break;
        delta -= tsc;
        if (i == 1 && d1 + d2 >= (delta * MAX_QUICK_PIT_ITERATIONS) >> 11) return 0;
        if (d1 + d2 >= delta >> 11) continue;  // the error is still above 1/2048
        if (!pit_verify_msb(static_cast<std::uint8_t>(0xfe - i))) break;
        iterations = i;
        error_bound = d1 + d2;
        delta *= PIT_TICK_RATE;
        return static_cast<unsigned long>(delta / (i * 256 * 1000));
      }
    }
    return 0;  // "Fast TSC calibration failed"
  }

  std::uint64_t loaded_at = 0;
  std::vector<MsbRead> msbs;
  unsigned long iterations = 0;
  unsigned long error_bound = 0;
};

TEST_P(LinuxQuickPitCalibrate, LinuxQuickPitCalibrate_MsbStepsDownByOneEvery256ClocksAndCalibrationSucceeds) {
  io_ns = GetParam();
  const unsigned long khz = quick_pit_calibrate();

  ASSERT_GT(msbs.size(), 2u);
  EXPECT_EQ(msbs.front().msb, 0xff);
  const std::uint64_t tick_ns = ticks_to_ns(1);
  for (std::size_t k = 1; k < msbs.size(); ++k) {
    const MsbRead& prev = msbs[k - 1];
    const MsbRead& read = msbs[k];
    SCOPED_TRACE("MSB read " + std::to_string(k) + " at +" + std::to_string(read.at - loaded_at) + " ns");
    ASSERT_TRUE(read.msb == prev.msb || read.msb == prev.msb - 1)
        << "MSB went from " << int(prev.msb) << " to " << int(read.msb);
    if (read.msb == prev.msb) continue;
    // The step to `msb` happens once (0xff - msb) * 256 input clocks have passed
    // (one clock later on a chip that loads the count on the next CLK edge).
    const std::uint64_t boundary = loaded_at + ticks_to_ns((0xffu - read.msb) * 256u);
    EXPECT_LT(prev.at, boundary + tick_ns);
    EXPECT_GE(read.at, boundary);
  }

  ASSERT_NE(khz, 0u) << "Linux: Fast TSC calibration failed";
  EXPECT_GT(iterations, 1u);
  EXPECT_LE(iterations, MAX_QUICK_PIT_ITERATIONS);
  // Linux only stops once its error terms are under 1/2048 of the measured span.
  EXPECT_NEAR(static_cast<double>(khz), static_cast<double>(kTscKhz), static_cast<double>(kTscKhz >> 11));
}

INSTANTIATE_TEST_SUITE_P(IoCosts, LinuxQuickPitCalibrate, ::testing::Values<std::uint64_t>(1000, 500),
                         [](const auto& info) { return std::to_string(info.param) + "ns"; });

// ---------------------------------------------------------------------------
// drivers/clocksource/i8253.c

class LinuxI8253 : public LinuxPitReplay {
 protected:
  // pit_set_periodic()
  void set_periodic() {
    outb(0x34, PIT_MODE);  // counter 0, LSB/MSB, mode 2, binary
    outb(PIT_LATCH & 0xff, PIT_CH0);
    outb(PIT_LATCH >> 8, PIT_CH0);
  }
  // clockevent_i8253_disable()
  void disable() {
    outb(0x30, PIT_MODE);
    outb(0, PIT_CH0);
    outb(0, PIT_CH0);
    outb(0x30, PIT_MODE);
  }
};

TEST_F(LinuxI8253, LinuxI8253Clocksource_LatchedReadsAreMonotonicAcrossIrq0Edges) {
  // i8253_read() latches counter 0 (control 0x00), reads LSB then MSB and
  // combines the count with jiffies, which the IRQ 0 handler advances at each
  // reload. The sum only goes forward if the count reloads exactly when IRQ 0
  // rises; Linux papers over a count that jumps up under the same jiffies value.
  constexpr std::uint64_t kInitialJiffies = 1000;
  set_periodic();
  const std::uint64_t loaded_at = clock.now_ns() - io_ns;
  io_ns = 0;  // time moves between reads only
  int old_count = 0;
  std::uint64_t old_jifs = 0, last = 0;
  unsigned papered_over = 0, via_resets = 0;
  for (int sample = 0; sample < 3000; ++sample) {
    clock.advance(7'300);  // not a multiple of the input clock
    const std::uint64_t jifs = kInitialJiffies + irq0.rising_edges;
    const std::uint64_t ticks = ns_to_ticks(clock.now_ns() - loaded_at);
    outb(0x00, PIT_MODE);  // latch the count ASAP
    int count = inb(PIT_CH0);
    count |= inb(PIT_CH0) << 8;
    if (count > static_cast<int>(PIT_LATCH)) {  // "VIA686a test code": reset the latch
      ++via_resets;
      count = PIT_LATCH - 1;
    }
    if (count > old_count && jifs == old_jifs) {
      ++papered_over;
      count = old_count;
    }
    old_count = count;
    old_jifs = jifs;
    count = static_cast<int>(PIT_LATCH - 1) - count;
    const std::uint64_t value = jifs * PIT_LATCH + static_cast<std::uint64_t>(count);
    SCOPED_TRACE("sample " + std::to_string(sample));
    ASSERT_GE(value, last);
    last = value;
    // The clocksource reads the input clocks elapsed since the load, less one.
    ASSERT_EQ(static_cast<std::int64_t>(value - kInitialJiffies * PIT_LATCH) - static_cast<std::int64_t>(ticks), -1);
  }
  EXPECT_EQ(via_resets, 0u);
  EXPECT_EQ(papered_over, 0u) << "the count reloaded before or after IRQ 0 rose";
  EXPECT_EQ(pit.stats().missed_edges, 0u);
}

TEST_F(LinuxI8253, LinuxI8253Clockevent_PeriodicModeTicksAtHz) {
  set_periodic();
  clock.advance(kSecond);
  // PIT_TICK_RATE / PIT_LATCH = 1000.15 Hz.
  EXPECT_EQ(irq0.rising_edges, PIT_TICK_RATE * 1 / PIT_LATCH);
  EXPECT_EQ(pit.stats().missed_edges, 0u);
}

TEST_F(LinuxI8253, LinuxI8253Clockevent_OneshotRaisesIrq0OncePerNextEvent) {
  outb(0x38, PIT_MODE);  // pit_set_oneshot(): counter 0, LSB/MSB, mode 4
  EXPECT_EQ(irq0.rising_edges, 0u);
  const std::uint16_t delta = 1193;  // pit_next_event(): about 1 ms
  outb(delta & 0xff, PIT_CH0);
  const std::uint64_t loaded_at = clock.now_ns();
  outb(delta >> 8, PIT_CH0);
  // Mode 4: OUT pulses low for one clock at terminal count; IRQ 0 sees the edge
  // when it goes back up, delta + 1 clocks after the load (+ 1 for the load
  // cycle on a chip that loads the count on the next CLK edge).
  clock.advance_to(loaded_at + ticks_to_ns(delta + 1) - 1);
  EXPECT_EQ(irq0.rising_edges, 0u);
  clock.advance_to(loaded_at + ticks_to_ns(delta + 2));
  EXPECT_EQ(irq0.rising_edges, 1u);
  clock.advance(kSecond);
  EXPECT_EQ(irq0.rising_edges, 1u) << "a oneshot fires once";
  outb(delta & 0xff, PIT_CH0);
  outb(delta >> 8, PIT_CH0);
  clock.advance(2 * ticks_to_ns(delta));
  EXPECT_EQ(irq0.rising_edges, 2u);
}

TEST_F(LinuxI8253, LinuxI8253Clockevent_DisableStopsIrq0ForGood) {
  set_periodic();
  clock.advance(10'000'000);
  const unsigned ticking = irq0.rising_edges;
  EXPECT_EQ(ticking, 10u);
  disable();
  clock.advance(10 * kSecond);
  EXPECT_EQ(irq0.rising_edges, ticking) << "IRQ 0 kept firing after clockevent_i8253_disable()";
}

// ---------------------------------------------------------------------------
// drivers/input/misc/pcspkr.c

TEST_F(LinuxPitReplay, LinuxPcSpeaker_ToneDrivesOut2AsASquareWaveAtThePitch) {
  const unsigned count = PIT_TICK_RATE / 1000;  // pcspkr_event(): a 1 kHz tone
  outb(0xb6, PIT_MODE);                         // counter 2, LSB/MSB, mode 3
  outb(count & 0xff, PIT_CH2);
  outb(static_cast<std::uint8_t>(count >> 8), PIT_CH2);
  if (!(inb(0x61) & 3)) outb(static_cast<std::uint8_t>(inb(0x61) | 3), 0x61);
  EXPECT_EQ(inb(0x61) & 0x03, 0x03) << "gate and speaker data enable read back";

  io_ns = 0;
  unsigned rises = 0, high_samples = 0;
  bool was_high = inb(0x61) & 0x20;
  constexpr unsigned kSamples = 100'000;  // 100 ms, one sample per microsecond
  for (unsigned i = 0; i < kSamples; ++i) {
    clock.advance(1000);
    const bool high = inb(0x61) & 0x20;
    if (high && !was_high) ++rises;
    high_samples += high;
    was_high = high;
  }
  EXPECT_NEAR(rises, 100, 1);                      // 1000.15 Hz over 100 ms
  EXPECT_NEAR(high_samples, kSamples / 2, 1'000);  // a square wave: high half the time
  outb(inb(0x61) & 0xfc, 0x61);                    // sound off
  EXPECT_EQ(inb(0x61) & 0x03, 0x00);
}

}  // namespace
}  // namespace vmm
