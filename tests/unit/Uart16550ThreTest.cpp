// When the THRE interrupt must become pending, by the PC16550D datasheet: each
// time the transmitter holding register (the XMIT FIFO in FIFO mode) becomes
// empty, and at once after FCR0 changes ("The first transmitter interrupt after
// changing FCR0 will be immediate, if it is enabled"). Found by
// tests/fuzz/UartFuzzer.cpp; the reproducers are in tests/fuzz/regressions/.

#include <gtest/gtest.h>

#include <cstdint>

#include "FakeClock.h"
#include "RecordingSink.h"
#include "devices/Uart16550.h"

namespace vmm {
namespace {

using testing::RecordingIrqLine;
using testing::RecordingSink;

class Uart16550Thre : public ::testing::Test {
 protected:
  enum : std::uint8_t { THR = 0, IER = 1, IIR = 2, FCR = 2, MCR = 4, LSR = 5 };
  void out(std::uint8_t reg, std::uint8_t value) { uart.write(reg, std::span<const std::uint8_t>(&value, 1)); }
  std::uint8_t in(std::uint8_t reg) {
    std::uint8_t value = 0;
    uart.read(reg, std::span(&value, 1));
    return value;
  }

  RecordingIrqLine irq;
  RecordingSink sink;
  Uart16550 uart{irq, sink};
};

TEST_F(Uart16550Thre, ThrWriteInLoopbackRaisesThreAgain) {
  // In loopback the transmitter still runs: the byte moves to the shift register
  // and on into the receiver, and THR is empty again.
  out(IER, 0x02);
  out(MCR, 0x18);  // LOOP | OUT2
  EXPECT_EQ(in(IIR), 0x02);
  EXPECT_EQ(in(IIR), 0x01);  // THRE read: cleared
  out(THR, 'x');
  EXPECT_EQ(in(LSR) & 0x61, 0x61);  // looped back, THR and TSR empty
  EXPECT_EQ(in(IIR), 0x02) << "THR emptied in loopback without a THRE interrupt";
}

TEST_F(Uart16550Thre, LeavingLoopbackWithTxInterruptsOnRaisesTheLine) {
  // What the above costs a driver: it wrote THR in loopback and waits for THRE
  // with ETBEI set; when loopback ends the line must rise, or transmission
  // stalls for good (Linux's start_tx() does not rewrite an IER that has THRI).
  out(MCR, 0x18);
  out(IER, 0x02);
  in(IIR);
  out(THR, 'x');
  out(MCR, 0x08);  // OUT2, loopback off
  EXPECT_TRUE(irq.level);
}

TEST_F(Uart16550Thre, ResettingAWaitingTxFifoRaisesThre) {
  out(FCR, 0x01);
  out(MCR, 0x08);
  out(IER, 0x02);
  EXPECT_EQ(in(IIR), 0xc2);
  sink.room = 0;  // the output backend is full: the byte waits in the FIFO
  out(THR, 'a');
  EXPECT_EQ(in(LSR) & 0x60, 0x00);
  EXPECT_FALSE(irq.level);
  out(FCR, 0x05);  // XMIT FIFO reset: THR empty
  EXPECT_EQ(in(LSR) & 0x60, 0x60);
  EXPECT_TRUE(irq.level) << "the XMIT FIFO emptied without a THRE interrupt";
  EXPECT_EQ(in(IIR), 0xc2);
}

TEST_F(Uart16550Thre, ChangingFcr0RaisesThreAtOnce) {
  out(MCR, 0x08);
  out(IER, 0x02);
  EXPECT_EQ(in(IIR), 0x02);
  EXPECT_FALSE(irq.level);
  out(FCR, 0x01);  // FIFOs on
  EXPECT_TRUE(irq.level) << "no transmitter interrupt after FCR0 changed";
  EXPECT_EQ(in(IIR), 0xc2);
}

}  // namespace
}  // namespace vmm
