#include "devices/Uart16550.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "FakeClock.h"

namespace vmm {
namespace {

using testing::RecordingIrqLine;

// Takes at most `room` more bytes, like a full output buffer.
class StringSink final : public ByteSink {
 public:
  std::size_t write(std::span<const std::uint8_t> bytes) override {
    const std::size_t taken = std::min(room, bytes.size());
    text.append(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(taken));
    room -= taken;
    return taken;
  }
  std::string text;
  std::size_t room = SIZE_MAX;
};

class Uart16550Test : public ::testing::Test {
 protected:
  enum : std::uint8_t { RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
  void out(std::uint8_t reg, std::uint8_t value) { uart.write(reg, std::span<const std::uint8_t>(&value, 1)); }
  std::uint8_t in(std::uint8_t reg) {
    std::uint8_t value = 0;
    uart.read(reg, std::span(&value, 1));
    return value;
  }
  void receive(const std::string& text) {
    uart.receive(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }

  RecordingIrqLine irq;
  StringSink sink;
  Uart16550 uart{irq, sink};
};

TEST_F(Uart16550Test, ResetValuesAsOnHardware) {
  struct Case {
    std::uint8_t reg;
    std::uint8_t value;
  };
  for (const Case c : {Case{IER, 0x00}, Case{IIR, 0x01}, Case{LCR, 0x00}, Case{MCR, 0x00}, Case{LSR, 0x60},
                       Case{MSR, 0xb0}, Case{SCR, 0x00}}) {
    SCOPED_TRACE(static_cast<int>(c.reg));
    EXPECT_EQ(in(c.reg), c.value);
  }
  EXPECT_FALSE(irq.level);
}

TEST_F(Uart16550Test, PolledTransmitReachesTheSink) {
  for (char c : std::string("hello\n")) {
    EXPECT_EQ(in(LSR) & 0x20, 0x20);
    out(THR, static_cast<std::uint8_t>(c));
  }
  EXPECT_EQ(sink.text, "hello\n");
  EXPECT_EQ(irq.changes, 0u);
}

TEST_F(Uart16550Test, ThreInterruptRaisedOnEnableClearedByIirReadAndRearmedByThrWrite) {
  out(MCR, 0x0b);  // DTR, RTS, OUT2
  out(IER, 0x02);
  EXPECT_TRUE(irq.level);  // THR empty when ETBEI is set: interrupt at once
  EXPECT_EQ(in(IIR), 0x02);
  EXPECT_FALSE(irq.level);  // reading IIR with THRE as the source clears it
  EXPECT_EQ(in(IIR), 0x01);
  out(THR, 'x');
  EXPECT_TRUE(irq.level);  // transmitted at once: THR empty again
  out(IER, 0x00);
  EXPECT_FALSE(irq.level);  // the IER write is re-evaluated too
  out(IER, 0x02);
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(irq.rising_edges, 3u);
}

TEST_F(Uart16550Test, Out2GatesTheInterruptOutput) {
  out(IER, 0x02);
  EXPECT_EQ(in(IIR), 0x02);  // pending inside the chip...
  EXPECT_FALSE(irq.level);   // ...but OUT2 is low, so nothing reaches the PIC
  out(THR, 'a');
  out(MCR, 0x08);
  EXPECT_TRUE(irq.level);
  out(MCR, 0x00);
  EXPECT_FALSE(irq.level);
}

TEST_F(Uart16550Test, LoopbackRoutesTxToRxAndModemLines) {
  out(MCR, 0x10);  // loopback, all outputs off
  EXPECT_EQ(in(MSR) & 0xf0, 0x00);
  out(MCR, 0x1f);  // loopback with DTR, RTS, OUT1, OUT2
  EXPECT_EQ(in(MSR), 0xf0 | 0x0b);  // CTS, DSR, RI, DCD plus deltas (no trailing RI yet)
  EXPECT_EQ(in(MSR), 0xf0);         // deltas clear on read
  out(MCR, 0x1b);                   // OUT1 off: RI falls, trailing-edge RI
  EXPECT_EQ(in(MSR), 0xb4);
  out(THR, 'Z');
  EXPECT_EQ(sink.text, "");
  EXPECT_EQ(in(LSR) & 0x01, 0x01);
  EXPECT_EQ(in(RBR), 'Z');
  EXPECT_EQ(in(LSR) & 0x01, 0x00);
}

TEST_F(Uart16550Test, DivisorLatchAndScratch) {
  out(LCR, 0x83);
  out(0, 0x01);
  out(1, 0x00);
  out(LCR, 0x03);
  out(SCR, 0x5a);
  EXPECT_EQ(in(SCR), 0x5a);
  EXPECT_EQ(in(IER), 0x00);  // DLM did not leak into IER
  out(LCR, 0x83);
  EXPECT_EQ(in(0), 0x01);
  EXPECT_EQ(in(1), 0x00);
}

TEST_F(Uart16550Test, FifoTriggerLevelsAndCharacterTimeout) {
  struct Case {
    std::uint8_t fcr;
    std::size_t trigger;
  };
  for (const Case c : {Case{0x01, 1}, Case{0x41, 4}, Case{0x81, 8}, Case{0xc1, 14}}) {
    SCOPED_TRACE(static_cast<int>(c.fcr));
    RecordingIrqLine line;
    StringSink unused;
    Uart16550 chip(line, unused);
    auto write = [&](std::uint8_t reg, std::uint8_t value) { chip.write(reg, std::span<const std::uint8_t>(&value, 1)); };
    auto read = [&](std::uint8_t reg) {
      std::uint8_t value = 0;
      chip.read(reg, std::span(&value, 1));
      return value;
    };
    write(FCR, c.fcr);
    write(MCR, 0x08);
    write(IER, 0x01);
    const std::string below(c.trigger - 1, 'a');
    chip.receive(std::span(reinterpret_cast<const std::uint8_t*>(below.data()), below.size()));
    if (c.trigger > 1) {
      EXPECT_EQ(read(IIR), 0xcc);  // below the trigger: character timeout
    }
    const std::uint8_t one = 'b';
    chip.receive(std::span(&one, 1));
    EXPECT_EQ(read(IIR), 0xc4);
    EXPECT_TRUE(line.level);
    for (std::size_t i = 0; i < c.trigger; ++i) read(RBR);
    EXPECT_EQ(read(IIR), 0xc1);
    EXPECT_FALSE(line.level);
  }
}

TEST_F(Uart16550Test, RxOverrunSetsOeAndRaisesLineStatusFirst) {
  out(FCR, 0x07);
  out(MCR, 0x08);
  out(IER, 0x05);  // RDA and RLS
  receive(std::string(16, 'x'));
  EXPECT_EQ(uart.rx_room(), 0u);
  receive("y");  // lost
  EXPECT_EQ(in(IIR), 0xc6);
  EXPECT_EQ(in(LSR) & 0x03, 0x03);
  EXPECT_EQ(in(LSR) & 0x02, 0x00);  // OE clears on read
  EXPECT_EQ(in(IIR), 0xc4);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(in(RBR), 'x');
  EXPECT_EQ(in(LSR) & 0x01, 0x00);
}

TEST_F(Uart16550Test, FullSinkHoldsBytesInTheTxFifoAndTheGuestSeesTheTransmitterBusy) {
  out(FCR, 0x07);
  out(MCR, 0x08);
  out(IER, 0x02);
  EXPECT_EQ(in(IIR), 0xc2);
  sink.room = 3;
  for (char c : std::string("abcdef")) out(THR, static_cast<std::uint8_t>(c));
  EXPECT_EQ(sink.text, "abc");
  EXPECT_EQ(in(LSR) & 0x60, 0x00);  // THRE and TEMT clear: bytes wait in the FIFO
  EXPECT_FALSE(irq.level);          // no THRE interrupt while they wait
  sink.room = 2;
  uart.transmit_ready();
  EXPECT_EQ(sink.text, "abcde");
  EXPECT_EQ(in(LSR) & 0x60, 0x00);
  sink.room = SIZE_MAX;
  uart.transmit_ready();
  EXPECT_EQ(sink.text, "abcdef");
  EXPECT_EQ(in(LSR) & 0x60, 0x60);
  EXPECT_TRUE(irq.level);  // the FIFO ran empty: THRE interrupt
  EXPECT_EQ(in(IIR), 0xc2);
}

TEST_F(Uart16550Test, FifoResetDiscardsWaitingTxBytes) {
  out(FCR, 0x01);
  sink.room = 0;
  out(THR, 'a');
  EXPECT_EQ(in(LSR) & 0x20, 0x00);
  out(FCR, 0x05);  // clear TX
  EXPECT_EQ(in(LSR) & 0x60, 0x60);
  sink.room = SIZE_MAX;
  uart.transmit_ready();
  EXPECT_EQ(sink.text, "");
}

TEST_F(Uart16550Test, ReadingAFullReceiverCallsTheSpaceCallback) {
  int calls = 0;
  uart.set_rx_space_callback([&] { ++calls; });
  out(FCR, 0x01);
  receive(std::string(16, 'q'));
  in(RBR);
  EXPECT_EQ(calls, 1);
  in(RBR);  // not full before this read
  EXPECT_EQ(calls, 1);
}

TEST_F(Uart16550Test, ReceiveSomeTakesOnlyWhatFitsAndNothingInLoopback) {
  out(FCR, 0x01);
  const std::string text(20, 'r');
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  EXPECT_EQ(uart.receive_some(bytes), 16u);
  EXPECT_EQ(in(LSR) & 0x02, 0x00) << "taking only what fits is no overrun";
  EXPECT_EQ(uart.receive_some(bytes), 0u);
  for (int i = 0; i < 16; ++i) in(RBR);
  out(MCR, 0x10);
  EXPECT_EQ(uart.receive_some(bytes), 0u);
}

TEST_F(Uart16550Test, NonFifoModeHoldsOneByte) {
  EXPECT_EQ(uart.rx_room(), 1u);
  receive("ab");
  EXPECT_EQ(in(LSR) & 0x03, 0x03);
  EXPECT_EQ(in(RBR), 'a');
}

}  // namespace
}  // namespace vmm
