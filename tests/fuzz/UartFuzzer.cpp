// libFuzzer target for Uart16550. The input is decoded into a sequence of guest
// port accesses (any offset, in range or not, any width), host input, sink
// back-pressure and transmit_ready() calls. A shadow of the registers and both
// FIFOs, kept by the PC16550D's rules, predicts what every read returns and
// what the sink receives; after each step the model must agree with it and with
// the datasheet's invariants: a valid IIR code with the right priority, LSR.DR
// exactly when the receiver holds data, at most 16 bytes held, IRQ level ==
// (interrupt pending && MCR.OUT2 && !LOOP), no parity/framing/break errors, no
// line input in loopback, a THRE interrupt whenever THR empties; and the
// rx-space callback exactly when a guest access gives line input room again.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "../unit/FakeClock.h"
#include "../unit/RecordingSink.h"
#include "FuzzCheck.h"
#include "devices/Uart16550.h"

namespace {

using vmm::Uart16550;
using vmm::testing::RecordingIrqLine;
using vmm::testing::RecordingSink;

constexpr std::uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrPe = 0x04, kLsrFe = 0x08, kLsrBi = 0x10, kLsrThre = 0x20,
                       kLsrTemt = 0x40, kLsrFifoError = 0x80;
constexpr std::uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
constexpr std::uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
constexpr std::uint8_t kLcrDlab = 0x80;

// The registers as the datasheet says they must be, from the accesses alone.
struct Shadow {
  std::uint8_t ier = 0, lcr = 0, mcr = 0, scr = 0, dll = 0, dlm = 0;
  bool fifo = false;
  std::uint8_t trigger_bits = 0;
  std::deque<std::uint8_t> rx, tx;
  std::vector<std::uint8_t> sent;  // everything the sink must have taken, in order
  bool overrun = false;
  std::uint8_t idle_inputs = 0;    // MSR[7:4] with no loopback, as the model starts
  std::uint8_t inputs = 0, deltas = 0;

  std::size_t capacity() const { return fifo ? 16 : 1; }
  std::size_t trigger() const {
    static constexpr std::size_t kLevels[] = {1, 4, 8, 14};
    return fifo ? kLevels[trigger_bits >> 6] : 1;
  }
  bool loop() const { return mcr & kMcrLoop; }
  // Room for input from the line: none in loopback, where SIN is disconnected.
  std::size_t line_room() const { return loop() ? 0 : capacity() - rx.size(); }
  bool dlab() const { return lcr & kLcrDlab; }

  void push_rx(std::uint8_t byte) {
    if (rx.size() >= capacity())
      overrun = true;
    else
      rx.push_back(byte);
  }
  void drain(std::size_t room) {
    const std::size_t moved = std::min(room, tx.size());
    sent.insert(sent.end(), tx.begin(), tx.begin() + static_cast<std::ptrdiff_t>(moved));
    tx.erase(tx.begin(), tx.begin() + static_cast<std::ptrdiff_t>(moved));
  }
  void set_mcr(std::uint8_t value) {
    mcr = value & 0x1f;
    std::uint8_t next = idle_inputs;
    if (loop()) {
      next = 0;
      if (mcr & kMcrRts) next |= kMsrCts;
      if (mcr & kMcrDtr) next |= kMsrDsr;
      if (mcr & kMcrOut1) next |= kMsrRi;
      if (mcr & kMcrOut2) next |= kMsrDcd;
    }
    if ((inputs ^ next) & kMsrCts) deltas |= 0x01;
    if ((inputs ^ next) & kMsrDsr) deltas |= 0x02;
    if ((inputs & kMsrRi) && !(next & kMsrRi)) deltas |= 0x04;
    if ((inputs ^ next) & kMsrDcd) deltas |= 0x08;
    inputs = next;
  }
};

class Harness {
 public:
  Harness() : uart_(irq_, sink_) {
    uart_.set_rx_space_callback([this] { ++space_calls_; });
    shadow_.idle_inputs = shadow_.inputs = uart_.registers().msr & 0xf0;
    check_all();
  }

  void guest_write(std::uint64_t offset, std::span<const std::uint8_t> data) {
    fuzz_trace("out  offset %llu width %zu value 0x%02x  (LCR 0x%02x MCR 0x%02x)",
               static_cast<unsigned long long>(offset), data.size(), data.empty() ? 0 : data[0], shadow_.lcr,
               shadow_.mcr);
    const Uart16550::Registers before = uart_.registers();
    const std::size_t room_before = shadow_.line_room();
    const bool in_range = !data.empty() && offset < Uart16550::kPorts;
    const bool fifo_before = shadow_.fifo;
    bool thr_written = false;
    if (in_range) thr_written = shadow_write(static_cast<std::uint8_t>(offset), data[0]);
    const unsigned calls_before = space_calls_;
    uart_.write(offset, data);
    check_space_calls(calls_before, room_before);
    if (!in_range) check_unchanged(before);
    check_thre_interrupt(before, thr_written, fifo_before != shadow_.fifo);
    check_all();
  }

  void guest_read(std::uint64_t offset, std::size_t width) {
    std::vector<std::uint8_t> data(width, 0x5a);
    fuzz_trace("in   offset %llu width %zu", static_cast<unsigned long long>(offset), width);
    const Uart16550::Registers before = uart_.registers();
    const std::size_t room_before = shadow_.line_room();
    const bool in_range = width != 0 && offset < Uart16550::kPorts;
    int expected = -1;
    if (in_range) expected = shadow_read(static_cast<std::uint8_t>(offset), before);
    const unsigned calls_before = space_calls_;
    uart_.read(offset, std::span(data));
    for (std::size_t i = in_range ? 1 : 0; i < width; ++i) FUZZ_CHECK(data[i] == 0xff);
    if (in_range && expected >= 0) FUZZ_CHECK(data[0] == expected);
    if (in_range && offset == 2) {  // an IIR read, checked like registers().iir
      const std::uint8_t id = data[0] & 0x0f;
      FUZZ_CHECK(id == 0x1 || id == 0x0 || id == 0x2 || id == 0x4 || id == 0x6 || id == 0xc);
    }
    check_space_calls(calls_before, room_before);
    if (!in_range) check_unchanged(before);
    check_thre_interrupt(before, false);
    check_all();
  }

  void host_receive(std::span<const std::uint8_t> bytes) {
    fuzz_trace("receive %zu bytes", bytes.size());
    const Uart16550::Registers before = uart_.registers();
    if (shadow_.loop()) {
      // PC16550D: loopback disconnects SIN; host bytes must not reach the receiver.
      uart_.receive(bytes);
      FUZZ_CHECK(uart_.registers().lsr == before.lsr);
      check_all();
      return;
    }
    for (std::uint8_t byte : bytes) shadow_.push_rx(byte);
    const unsigned calls_before = space_calls_;
    uart_.receive(bytes);
    FUZZ_CHECK(space_calls_ == calls_before);
    check_thre_interrupt(before, false);
    check_all();
  }

  void rx_room() {
    const std::size_t room = uart_.rx_room();
    FUZZ_CHECK(room <= Uart16550::kFifoSize);
    check_all();
  }

  void set_sink_room(std::size_t room) {
    fuzz_trace("sink room %zu", room);
    sink_.room = room;
  }

  void transmit_ready() {
    fuzz_trace("transmit_ready");
    const Uart16550::Registers before = uart_.registers();
    if (!shadow_.tx.empty()) shadow_.drain(sink_.room);
    const unsigned calls_before = space_calls_;
    uart_.transmit_ready();
    FUZZ_CHECK(space_calls_ == calls_before);
    check_thre_interrupt(before, false);
    check_all();
  }

 private:
  // Applies a register write to the shadow; true for a THR write.
  bool shadow_write(std::uint8_t reg, std::uint8_t value) {
    Shadow& s = shadow_;
    switch (reg) {
      case 0:
        if (s.dlab()) {
          s.dll = value;
          return false;
        }
        if (s.loop()) {
          s.push_rx(value);
        } else {
          if (s.tx.size() < s.capacity()) s.tx.push_back(value);  // a full FIFO loses the byte
          s.drain(sink_.room);
        }
        return true;
      case 1:
        if (s.dlab())
          s.dlm = value;
        else
          s.ier = value & 0x0f;
        return false;
      case 2: {
        const bool enable = value & 0x01;
        if (enable != s.fifo || (value & 0x02)) s.rx.clear();
        if (enable != s.fifo || (value & 0x04)) s.tx.clear();
        s.fifo = enable;
        s.trigger_bits = enable ? (value & 0xc0) : 0;
        return false;
      }
      case 3: s.lcr = value; return false;
      case 4: s.set_mcr(value); return false;
      case 7: s.scr = value; return false;
      default: return false;  // LSR (factory test) and MSR are read-only
    }
  }

  // Applies a register read to the shadow; returns the byte the read must give,
  // or -1 when the datasheet leaves it open.
  int shadow_read(std::uint8_t reg, const Uart16550::Registers& before) {
    Shadow& s = shadow_;
    switch (reg) {
      case 0: {
        if (s.dlab()) return s.dll;
        if (s.rx.empty()) return -1;  // RBR holds a stale byte
        const std::uint8_t byte = s.rx.front();
        s.rx.pop_front();
        return byte;
      }
      case 1: return s.dlab() ? s.dlm : s.ier;
      case 2: return before.iir;
      case 3: return s.lcr;
      case 4: return s.mcr;
      case 5:
        FUZZ_CHECK(bool(before.lsr & kLsrOe) == s.overrun);
        s.overrun = false;
        return before.lsr;
      case 6: {
        const std::uint8_t msr = s.inputs | s.deltas;
        s.deltas = 0;
        return msr;
      }
      default: return s.scr;
    }
  }

  // The host is told exactly when a guest access takes the receiver from no room
  // for line input to some: a full FIFO read, the FIFO enabled or cleared, or
  // loopback left (and never told twice, nor for nothing).
  void check_space_calls(unsigned calls_before, std::size_t room_before) {
    const unsigned calls = space_calls_ - calls_before;
    const bool room_appeared = room_before == 0 && shadow_.line_room() > 0;
    FUZZ_CHECK(calls == (room_appeared ? 1u : 0u));
  }

  void check_unchanged(const Uart16550::Registers& before) {
    const Uart16550::Registers after = uart_.registers();
    FUZZ_CHECK(before.ier == after.ier && before.iir == after.iir && before.fcr == after.fcr &&
               before.lcr == after.lcr && before.mcr == after.mcr && before.lsr == after.lsr &&
               before.msr == after.msr && before.scr == after.scr && before.dll == after.dll &&
               before.dlm == after.dlm && before.thr_interrupt == after.thr_interrupt &&
               before.irq_level == after.irq_level);
  }

  // The THRE interrupt source is set whenever THR becomes empty: when LSR.THRE
  // rises, and on every THR write that leaves THRE set (the virtual line takes
  // the byte at once, in loopback too). PC16550D, FIFO interrupt mode: "The first
  // transmitter interrupt after changing FCR0 will be immediate, if it is enabled."
  // Checked with ETBEI set only: without it, enabling ETBEI later raises THRE
  // anyway, so the difference cannot be seen.
  void check_thre_interrupt(const Uart16550::Registers& before, bool thr_written, bool fcr0_changed = false) {
    const Uart16550::Registers after = uart_.registers();
    if (!(after.lsr & kLsrThre) || !(after.ier & 0x02)) return;
    if (thr_written) {
      FUZZ_CHECK(after.thr_interrupt);
    } else if (!(before.lsr & kLsrThre) || fcr0_changed) {
      FUZZ_CHECK(after.thr_interrupt);
    }
  }

  void check_all() {
    const Uart16550::Registers r = uart_.registers();
    const Shadow& s = shadow_;

    // The line follows the pending interrupt, gated by OUT2 and silenced by LOOP.
    FUZZ_CHECK(irq_.level == r.irq_level);
    const bool pending = !(r.iir & 0x01);
    FUZZ_CHECK(irq_.level == (pending && (r.mcr & kMcrOut2) && !(r.mcr & kMcrLoop)));

    // IIR: a valid code, bits 4-5 zero, bits 6-7 set exactly when the FIFOs are on.
    const std::uint8_t id = r.iir & 0x0f;
    FUZZ_CHECK(id == 0x1 || id == 0x0 || id == 0x2 || id == 0x4 || id == 0x6 || id == 0xc);
    FUZZ_CHECK((r.iir & 0x30) == 0);
    FUZZ_CHECK((r.iir & 0xc0) == (s.fifo ? 0xc0 : 0x00));

    // The receiver: at most 16 bytes, DR exactly when it holds one, OE as predicted.
    FUZZ_CHECK(s.rx.size() <= Uart16550::kFifoSize);
    FUZZ_CHECK(uart_.rx_room() == s.line_room());
    FUZZ_CHECK(bool(r.lsr & kLsrDr) == !s.rx.empty());
    FUZZ_CHECK(bool(r.lsr & kLsrOe) == s.overrun);
    FUZZ_CHECK((r.lsr & (kLsrPe | kLsrFe | kLsrBi | kLsrFifoError)) == 0);  // no such errors on a virtual line

    // The transmitter: THRE and TEMT exactly when nothing waits; the sink has
    // taken exactly the predicted bytes.
    FUZZ_CHECK(bool(r.lsr & kLsrThre) == s.tx.empty());
    FUZZ_CHECK(bool(r.lsr & kLsrTemt) == s.tx.empty());
    FUZZ_CHECK(s.tx.size() <= Uart16550::kFifoSize);
    FUZZ_CHECK(sink_.bytes.size() == s.sent.size());
    for (; checked_sent_ < s.sent.size(); ++checked_sent_)
      FUZZ_CHECK(sink_.bytes[checked_sent_] == s.sent[checked_sent_]);

    // IIR reports the highest-priority pending source: RLS > RDA/CTI > THRE > MS.
    std::uint8_t expected = 0x01;
    if ((r.ier & 0x04) && (r.lsr & (kLsrOe | kLsrPe | kLsrFe | kLsrBi)))
      expected = 0x06;
    else if ((r.ier & 0x01) && !s.rx.empty())
      expected = (s.fifo && s.rx.size() < s.trigger()) ? 0x0c : 0x04;
    else if ((r.ier & 0x02) && r.thr_interrupt)
      expected = 0x02;
    else if ((r.ier & 0x08) && (r.msr & 0x0f))
      expected = 0x00;
    FUZZ_CHECK(id == expected);

    // Plain registers read back as written.
    FUZZ_CHECK(r.ier == s.ier);
    FUZZ_CHECK(r.lcr == s.lcr);
    FUZZ_CHECK(r.mcr == s.mcr);
    FUZZ_CHECK(r.scr == s.scr);
    FUZZ_CHECK(r.dll == s.dll);
    FUZZ_CHECK(r.dlm == s.dlm);
    FUZZ_CHECK(r.msr == (s.inputs | s.deltas));
  }

  RecordingIrqLine irq_;
  RecordingSink sink_;
  Uart16550 uart_;
  Shadow shadow_;
  unsigned space_calls_ = 0;
  std::size_t checked_sent_ = 0;
};

std::uint64_t pick_offset(FuzzedDataProvider& in) {
  const std::uint8_t choice = in.ConsumeIntegral<std::uint8_t>();
  if (choice < 200) return choice % 8;           // the eight registers
  if (choice < 240) return 8 + choice % 8;       // just past the range
  return in.ConsumeIntegral<std::uint64_t>();    // anywhere
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Harness harness;
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
      case 1: {  // guest write, usually one byte to a register
        const std::uint64_t offset = pick_offset(in);
        const std::size_t width = in.ConsumeBool() ? 1 : in.ConsumeIntegralInRange<std::size_t>(0, 4);
        const std::vector<std::uint8_t> bytes = in.ConsumeBytes<std::uint8_t>(width);
        harness.guest_write(offset, bytes);
        break;
      }
      case 2:
      case 3: {  // guest read
        const std::uint64_t offset = pick_offset(in);
        const std::size_t width = in.ConsumeBool() ? 1 : in.ConsumeIntegralInRange<std::size_t>(0, 4);
        harness.guest_read(offset, width);
        break;
      }
      case 4: {  // host input: a keystroke or a burst
        const std::size_t count = in.ConsumeIntegralInRange<std::size_t>(0, 40);
        harness.host_receive(in.ConsumeBytes<std::uint8_t>(count));
        break;
      }
      case 5: harness.rx_room(); break;
      case 6: {  // the output backend fills up or drains
        const std::uint8_t room = in.ConsumeIntegral<std::uint8_t>();
        harness.set_sink_room(room >= 64 ? RecordingSink::kUnlimited : room % 20);
        break;
      }
      case 7: harness.transmit_ready(); break;
    }
  }
  return 0;
}
