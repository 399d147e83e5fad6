// Replays, access for access, what Linux's 8250 driver does to a PC serial port:
// the boot-time probe (autoconfig() with autoconfig_16550a() and size_fifo()),
// the IRQ probe (autoconfig_irq()), the first open (serial8250_do_startup() then
// set_termios()) and the interrupt handler. Each test then draws the conclusion
// Linux draws from the values read, and checks it is the one Linux draws on a
// real PC16550D: port type "16550A", no UART_BUG_* workaround, and an interrupt
// line the 8259 sees rise and fall when it should.
//
// Source followed: drivers/tty/serial/8250/8250_port.c as of Linux 6.x (the
// sequences are those of 2.6 onwards; 6.x adds the early return when
// CONFIG_SERIAL_8250_16550A_VARIANTS is off, the x86 default, tested both ways).
// Port I/O as on x86 (UPIO_PORT): serial_port_out_sync() is a plain outb, and
// serial8250_in_MCR()/out_MCR() are plain MCR accesses (no GPIO lines).

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "FakeClock.h"
#include "RecordingSink.h"
#include "devices/Uart16550.h"

namespace vmm {
namespace {

using testing::RecordingIrqLine;
using testing::RecordingSink;

// Register offsets and bits, spelled as in Linux's include/uapi/linux/serial_reg.h
// so that each line below can be checked against the driver by eye.
constexpr std::uint8_t UART_RX = 0, UART_TX = 0, UART_DLL = 0, UART_IER = 1, UART_DLM = 1, UART_IIR = 2,
                       UART_FCR = 2, UART_EFR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6,
                       UART_SCR = 7;
constexpr std::uint8_t UART_ICR = UART_LSR;  // 16C950 indexed control register window
constexpr std::uint8_t UART_ACR = 0x00, UART_ID1 = 0x08, UART_ID2 = 0x09, UART_ID3 = 0x0a, UART_REV = 0x0b;
constexpr std::uint8_t UART_ACR_ICRRD = 0x40, UART_EFR_ECB = 0x10;
constexpr std::uint8_t UART_LCR_CONF_MODE_A = 0x80, UART_LCR_CONF_MODE_B = 0xbf, UART_LCR_WLEN8 = 0x03,
                       UART_LCR_DLAB = 0x80;
constexpr std::uint8_t UART_FCR_ENABLE_FIFO = 0x01, UART_FCR_CLEAR_RCVR = 0x02, UART_FCR_CLEAR_XMIT = 0x04,
                       UART_FCR7_64BYTE = 0x20, UART_FCR_R_TRIG_10 = 0x80;
constexpr std::uint8_t UART_IIR_NO_INT = 0x01, UART_IIR_FIFO_ENABLED = 0xc0, UART_IIR_FIFO_ENABLED_8250 = 0x00,
                       UART_IIR_FIFO_ENABLED_16550 = 0x80, UART_IIR_FIFO_ENABLED_16550A = 0xc0,
                       UART_IIR_64BYTE_FIFO = 0x20;
constexpr std::uint8_t UART_IER_RDI = 0x01, UART_IER_THRI = 0x02, UART_IER_RLSI = 0x04, UART_IER_ALL_INTR = 0x0f,
                       UART_IER_UUE = 0x40;
constexpr std::uint8_t UART_MCR_DTR = 0x01, UART_MCR_RTS = 0x02, UART_MCR_OUT1 = 0x04, UART_MCR_OUT2 = 0x08,
                       UART_MCR_LOOP = 0x10;
constexpr std::uint8_t UART_LSR_DR = 0x01, UART_LSR_BI = 0x10, UART_LSR_THRE = 0x20, UART_LSR_TEMT = 0x40;
constexpr std::uint8_t UART_MSR_STATUS_BITS = 0xf0, UART_MSR_DCD = 0x80, UART_MSR_CTS = 0x10;

// Linux's port types (include/uapi/linux/serial_core.h), with uart_config[].name.
enum class PortType {
  Unknown, Port8250, Port16450, Port16550, Port16550A, Port16650, Port16650V2, Port16654, Port16750, Port16850,
  Port16C950, Port16550A_FSL64, PortNS16550A, PortXScale, PortU6_16550A,
};

std::string name(PortType type) {
  switch (type) {
    case PortType::Unknown: return "unknown";
    case PortType::Port8250: return "8250";
    case PortType::Port16450: return "16450";
    case PortType::Port16550: return "16550";
    case PortType::Port16550A: return "16550A";
    case PortType::Port16650: return "ST16650";
    case PortType::Port16650V2: return "ST16650V2";
    case PortType::Port16654: return "ST16654";
    case PortType::Port16750: return "TI16750";
    case PortType::Port16850: return "XR16850";
    case PortType::Port16C950: return "16C950/954";
    case PortType::Port16550A_FSL64: return "16550A_FSL64";
    case PortType::PortNS16550A: return "NS16550A";
    case PortType::PortXScale: return "XScale";
    case PortType::PortU6_16550A: return "U6_16550A";
  }
  return "?";
}

// uart_config[type].flags & UART_CAP_FIFO: the types whose FIFOs Linux clears.
bool has_fifo_capability(PortType type) {
  return type != PortType::Unknown && type != PortType::Port8250 && type != PortType::Port16450 &&
         type != PortType::Port16550;
}

// The host side of COM1 as vmm/serial/SerialBackend feeds it: pending input moves
// into the UART on arrival and when the UART reports room, never otherwise. The
// UART's callback runs under its lock, so it only posts; the posted feed runs
// between two guest accesses, as the event loop would.
class HostInput {
 public:
  explicit HostInput(Uart16550& uart) : uart_(uart) {
    uart_.set_rx_space_callback([this] { posted_ = true; });
  }
  void offer(const std::string& text) {
    pending_.insert(pending_.end(), text.begin(), text.end());
    feed();
  }
  void run_posted() {
    if (!posted_) return;
    posted_ = false;
    feed();
  }
  std::size_t pending() const { return pending_.size(); }

 private:
  void feed() {
    const std::size_t taken = std::min(uart_.rx_room(), pending_.size());
    if (taken == 0) return;
    const std::vector<std::uint8_t> bytes(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken));
    uart_.receive(bytes);
  }

  Uart16550& uart_;
  std::deque<std::uint8_t> pending_;
  bool posted_ = false;
};

// One step of a replayed sequence: an inb or outb of COM1, what an inb must read
// (under `mask`; mask 0: don't care), and the IRQ 4 level the 8259 must see right
// after the access.
enum class Op { In, Out };
enum class Irq { Any, Low, High };
// Reads a test keeps, to draw Linux's conclusions from them.
enum class Slot { None, ThreTestIir1, ThreTestIir, TxenTestLsr, TxenTestIir, Ier, Mcr };
struct Step {
  Op op;
  std::uint8_t reg;
  std::uint8_t value;  // Out: the byte written; In: the byte expected under mask
  std::uint8_t mask;
  Irq irq;
  Slot slot;
};
constexpr Step Out(std::uint8_t reg, std::uint8_t value, Irq irq = Irq::Any) {
  return {Op::Out, reg, value, 0, irq, Slot::None};
}
constexpr Step In(std::uint8_t reg, std::uint8_t expected, std::uint8_t mask = 0xff, Irq irq = Irq::Any,
                  Slot slot = Slot::None) {
  return {Op::In, reg, expected, mask, irq, slot};
}
constexpr Step InAny(std::uint8_t reg, Irq irq = Irq::Any, Slot slot = Slot::None) {
  return {Op::In, reg, 0, 0, irq, slot};
}

// What autoconfig() saw and decided.
struct Probe {
  PortType type = PortType::Unknown;
  std::uint8_t ier_after_zero = 0xff, ier_after_all = 0;  // the IER existence test
  std::optional<std::uint8_t> loop_msr;                    // MSR & 0xf0 in loopback with RTS and OUT2
  std::uint8_t iir_fifo_bits = 0;                          // IIR & 0xc0 after FCR = ENABLE_FIFO
  std::optional<std::uint8_t> efr_with_dlab;               // autoconfig_16550a(): EFR read with LCR = 0x80
  std::optional<std::uint8_t> efr_with_lcr_bf;             // ... and with LCR = 0xbf
  std::optional<std::uint8_t> natsemi_excr1;               // IIR read in bank 2 with MCR.LOOP flipped
  std::optional<std::uint8_t> iir_64byte_without_dlab;     // IIR & 0xe0 after FCR7_64BYTE, DLAB clear
  std::optional<std::uint8_t> iir_64byte_with_dlab;        // ... with DLAB set
  std::optional<std::uint8_t> ier_uue;                     // IER & UUE after writing UUE
  std::vector<int> fifo_sizes;                             // each size_fifo() result
  std::vector<std::uint8_t> fifo_bytes;                    // what size_fifo() read back
  bool reached_has_efr = false;
};

class Linux8250Replay : public ::testing::Test {
 protected:
  // serial_in()/serial_out() of a UPIO_PORT port: one inb/outb each.
  std::uint8_t serial_in(std::uint8_t reg) {
    std::uint8_t value = 0;
    uart.read(reg, std::span(&value, 1));
    ++accesses;
    host.run_posted();
    return value;
  }
  void serial_out(std::uint8_t reg, std::uint8_t value) {
    uart.write(reg, std::span<const std::uint8_t>(&value, 1));
    ++accesses;
    host.run_posted();
  }

  std::map<Slot, std::uint8_t> replay(std::span<const Step> steps) {
    std::map<Slot, std::uint8_t> kept;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const Step& step = steps[i];
      SCOPED_TRACE("step " + std::to_string(i) + (step.op == Op::In ? ": in " : ": out ") +
                   std::to_string(step.reg));
      if (step.op == Op::Out) {
        serial_out(step.reg, step.value);
      } else {
        const std::uint8_t value = serial_in(step.reg);
        EXPECT_EQ(value & step.mask, step.value & step.mask) << "read " << static_cast<int>(value);
        if (step.slot != Slot::None) kept[step.slot] = value;
      }
      if (step.irq != Irq::Any) {
        EXPECT_EQ(irq.level, step.irq == Irq::High);
      }
    }
    return kept;
  }

  // Linux's default_serial_dl_read()/dl_write().
  std::uint16_t serial_dl_read() {
    const std::uint8_t dll = serial_in(UART_DLL);
    return static_cast<std::uint16_t>(dll | serial_in(UART_DLM) << 8);
  }
  void serial_dl_write(std::uint16_t value) {
    serial_out(UART_DLL, value & 0xff);
    serial_out(UART_DLM, value >> 8 & 0xff);
  }

  void serial8250_clear_fifos(PortType type) {
    if (!has_fifo_capability(type)) return;
    serial_out(UART_FCR, UART_FCR_ENABLE_FIFO);
    serial_out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
    serial_out(UART_FCR, 0);
  }

  int size_fifo(Probe& probe) {
    const std::uint8_t old_lcr = serial_in(UART_LCR);
    serial_out(UART_LCR, 0);
    const std::uint8_t old_fcr = serial_in(UART_FCR);  // reads IIR: Linux restores FCR from it
    const std::uint8_t old_mcr = serial_in(UART_MCR);
    serial_out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
    serial_out(UART_MCR, UART_MCR_LOOP);
    serial_out(UART_LCR, UART_LCR_CONF_MODE_A);
    const std::uint16_t old_dl = serial_dl_read();
    serial_dl_write(0x0001);
    serial_out(UART_LCR, UART_LCR_WLEN8);
    for (int count = 0; count < 256; count++) serial_out(UART_TX, static_cast<std::uint8_t>(count));
    // mdelay(20): 256 characters at 115200 baud have long arrived.
    int count = 0;
    probe.fifo_bytes.clear();
    for (; (serial_in(UART_LSR) & UART_LSR_DR) && count < 256; count++) probe.fifo_bytes.push_back(serial_in(UART_RX));
    serial_out(UART_FCR, old_fcr);
    serial_out(UART_MCR, old_mcr);
    serial_out(UART_LCR, UART_LCR_CONF_MODE_A);
    serial_dl_write(old_dl);
    serial_out(UART_LCR, old_lcr);
    probe.fifo_sizes.push_back(count);
    return count;
  }

  unsigned autoconfig_read_divisor_id() {
    const std::uint8_t old_lcr = serial_in(UART_LCR);
    serial_out(UART_LCR, UART_LCR_CONF_MODE_A);
    const std::uint16_t old_dl = serial_dl_read();
    serial_dl_write(0);
    const unsigned id = serial_dl_read();
    serial_dl_write(old_dl);
    serial_out(UART_LCR, old_lcr);
    return id;
  }

  bool broken_efr(Probe& probe) { return autoconfig_read_divisor_id() == 0x0201 && size_fifo(probe) == 16; }

  std::uint8_t serial_icr_read(std::uint8_t offset) {
    serial_out(UART_SCR, UART_ACR);  // serial_icr_write(UART_ACR, acr | ICRRD)
    serial_out(UART_ICR, UART_ACR_ICRRD);
    serial_out(UART_SCR, offset);
    const std::uint8_t value = serial_in(UART_ICR);
    serial_out(UART_SCR, UART_ACR);  // serial_icr_write(UART_ACR, acr)
    serial_out(UART_ICR, 0);
    return value;
  }

  void autoconfig_has_efr(Probe& probe) {
    probe.reached_has_efr = true;
    serial_out(UART_LCR, UART_LCR_CONF_MODE_B);
    serial_out(UART_EFR, UART_EFR_ECB);
    serial_out(UART_LCR, 0x00);
    const std::uint8_t id1 = serial_icr_read(UART_ID1);
    const std::uint8_t id2 = serial_icr_read(UART_ID2);
    const std::uint8_t id3 = serial_icr_read(UART_ID3);
    serial_icr_read(UART_REV);
    if (id1 == 0x16 && id2 == 0xc9 && (id3 == 0x50 || id3 == 0x52 || id3 == 0x54)) {
      probe.type = PortType::Port16C950;
      return;
    }
    const unsigned divisor_id = autoconfig_read_divisor_id() >> 8;
    if (divisor_id == 0x10 || divisor_id == 0x12 || divisor_id == 0x14) {
      probe.type = PortType::Port16850;
      return;
    }
    probe.type = size_fifo(probe) == 64 ? PortType::Port16654 : PortType::Port16650V2;
  }

  void autoconfig_8250(Probe& probe) {
    probe.type = PortType::Port8250;
    const std::uint8_t scratch = serial_in(UART_SCR);
    serial_out(UART_SCR, 0xa5);
    const std::uint8_t status1 = serial_in(UART_SCR);
    serial_out(UART_SCR, 0x5a);
    const std::uint8_t status2 = serial_in(UART_SCR);
    serial_out(UART_SCR, scratch);
    if (status1 == 0xa5 && status2 == 0x5a) probe.type = PortType::Port16450;
  }

  void autoconfig_16550a(Probe& probe, bool variants) {
    probe.type = PortType::Port16550A;
    if (!variants) return;  // !CONFIG_SERIAL_8250_16550A_VARIANTS && !UPF_FULL_PROBE

    // EFR with DLAB set: only ST16C650V1 parts pass.
    serial_out(UART_LCR, UART_LCR_CONF_MODE_A);
    probe.efr_with_dlab = serial_in(UART_EFR);
    if (*probe.efr_with_dlab == 0) {
      serial_out(UART_EFR, 0xa8);
      if (serial_in(UART_EFR) != 0) {
        probe.type = PortType::Port16650;
      } else {
        serial_out(UART_LCR, 0);
        serial_out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
        const std::uint8_t status1 = serial_in(UART_IIR) & (UART_IIR_64BYTE_FIFO | UART_IIR_FIFO_ENABLED);
        serial_out(UART_FCR, 0);
        serial_out(UART_LCR, 0);
        if (status1 == (UART_IIR_64BYTE_FIFO | UART_IIR_FIFO_ENABLED)) probe.type = PortType::Port16550A_FSL64;
      }
      serial_out(UART_EFR, 0);
      return;
    }

    // EFR behind LCR = 0xbf: ST16C650V2, TI16C752, XR16C850, 16C950...
    serial_out(UART_LCR, UART_LCR_CONF_MODE_B);
    probe.efr_with_lcr_bf = serial_in(UART_EFR);
    if (*probe.efr_with_lcr_bf == 0 && !broken_efr(probe)) {
      autoconfig_has_efr(probe);
      return;
    }

    // National Semiconductor SuperIO: MCR.LOOP mirrored in EXCR1 (bank 2, offset 2).
    serial_out(UART_LCR, 0);
    const std::uint8_t status1 = serial_in(UART_MCR);
    serial_out(UART_LCR, 0xe0);
    std::uint8_t status2 = serial_in(0x02);
    if (!((status2 ^ status1) & UART_MCR_LOOP)) {
      serial_out(UART_LCR, 0);
      serial_out(UART_MCR, status1 ^ UART_MCR_LOOP);
      serial_out(UART_LCR, 0xe0);
      status2 = serial_in(0x02);
      probe.natsemi_excr1 = status2;
      serial_out(UART_LCR, 0);
      serial_out(UART_MCR, status1);
      if ((status2 ^ status1) & UART_MCR_LOOP) {
        // Linux goes on to ns16550a_goto_highspeed(); the type is decided here.
        probe.type = PortType::PortNS16550A;
        return;
      }
    }

    // TI16750: IIR bit 5 only when FCR7_64BYTE is written with DLAB set.
    serial_out(UART_LCR, 0);
    serial_out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
    probe.iir_64byte_without_dlab = serial_in(UART_IIR) & (UART_IIR_64BYTE_FIFO | UART_IIR_FIFO_ENABLED);
    serial_out(UART_FCR, UART_FCR_ENABLE_FIFO);
    serial_out(UART_LCR, UART_LCR_CONF_MODE_A);
    serial_out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
    probe.iir_64byte_with_dlab = serial_in(UART_IIR) & (UART_IIR_64BYTE_FIFO | UART_IIR_FIFO_ENABLED);
    serial_out(UART_FCR, UART_FCR_ENABLE_FIFO);
    serial_out(UART_LCR, 0);
    if (*probe.iir_64byte_without_dlab == UART_IIR_FIFO_ENABLED_16550A &&
        *probe.iir_64byte_with_dlab == (UART_IIR_64BYTE_FIFO | UART_IIR_FIFO_ENABLED_16550A)) {
      probe.type = PortType::Port16750;
      return;
    }

    // XScale: a writable IER.UUE (bit 6).
    const std::uint8_t iersave = serial_in(UART_IER);
    serial_out(UART_IER, iersave & ~UART_IER_UUE);
    if (!(serial_in(UART_IER) & UART_IER_UUE)) {
      serial_out(UART_IER, iersave | UART_IER_UUE);
      probe.ier_uue = serial_in(UART_IER) & UART_IER_UUE;
      if (*probe.ier_uue) {
        probe.type = PortType::PortXScale;
        return;
      }
    }
    serial_out(UART_IER, iersave);

    // U6 16550A: a 64-byte FIFO.
    if (probe.type == PortType::Port16550A && size_fifo(probe) == 64) probe.type = PortType::PortU6_16550A;
  }

  // autoconfig(); skip_test is UPF_SKIP_TEST, set on COM1-COM3 (arch/x86 STD_COMX_FLAGS)
  // and on PNP ports, clear on COM4 and ports registered without it.
  Probe autoconfig(bool variants, bool skip_test) {
    Probe probe;
    const std::uint8_t scratch = serial_in(UART_IER);
    serial_out(UART_IER, 0);
    probe.ier_after_zero = serial_in(UART_IER) & UART_IER_ALL_INTR;
    serial_out(UART_IER, UART_IER_ALL_INTR);
    probe.ier_after_all = serial_in(UART_IER) & UART_IER_ALL_INTR;
    serial_out(UART_IER, scratch);
    if (probe.ier_after_zero != 0 || probe.ier_after_all != UART_IER_ALL_INTR) return probe;  // no UART

    const std::uint8_t save_mcr = serial_in(UART_MCR);
    const std::uint8_t save_lcr = serial_in(UART_LCR);
    if (!skip_test) {
      serial_out(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
      probe.loop_msr = serial_in(UART_MSR) & UART_MSR_STATUS_BITS;
      serial_out(UART_MCR, save_mcr);
      if (*probe.loop_msr != (UART_MSR_DCD | UART_MSR_CTS)) return probe;  // "LOOP test failed"
    }

    serial_out(UART_LCR, UART_LCR_CONF_MODE_B);
    serial_out(UART_EFR, 0);
    serial_out(UART_LCR, 0);
    serial_out(UART_FCR, UART_FCR_ENABLE_FIFO);
    probe.iir_fifo_bits = serial_in(UART_IIR) & UART_IIR_FIFO_ENABLED;
    switch (probe.iir_fifo_bits) {
      case UART_IIR_FIFO_ENABLED_8250: autoconfig_8250(probe); break;
      case UART_IIR_FIFO_ENABLED_16550: probe.type = PortType::Port16550; break;
      case UART_IIR_FIFO_ENABLED_16550A: autoconfig_16550a(probe, variants); break;
      default: probe.type = PortType::Unknown; break;
    }
    serial_out(UART_LCR, save_lcr);
    if (probe.type == PortType::Unknown) return probe;

    serial_out(UART_MCR, save_mcr);
    serial8250_clear_fifos(probe.type);
    serial_in(UART_RX);
    serial_out(UART_IER, 0);  // serial8250_clear_IER() without UART_CAP_UUE
    return probe;
  }

  // serial8250_default_handle_irq() for a port with nothing to transmit (up->ier
  // without THRI, so serial8250_tx_chars() is not called). Returns what it read.
  std::string handle_irq() {
    std::string received;
    const std::uint8_t iir = serial_in(UART_IIR);
    if (iir & UART_IIR_NO_INT) return received;
    std::uint8_t status = serial_in(UART_LSR);
    if (status & (UART_LSR_DR | UART_LSR_BI)) {
      int max_count = 256;
      do {
        if (status & UART_LSR_DR) received.push_back(static_cast<char>(serial_in(UART_RX)));
        status = serial_in(UART_LSR);
      } while ((status & (UART_LSR_DR | UART_LSR_BI)) && --max_count > 0);
    }
    serial_in(UART_MSR);  // serial8250_modem_status()
    return received;
  }

  RecordingIrqLine irq;
  RecordingSink sink;
  Uart16550 uart{irq, sink};
  HostInput host{uart};
  std::size_t accesses = 0;
};

// What the boot-time probe leaves behind on a 16550A: IER 0, FIFOs off, LCR and
// MCR as found.
void expect_probe_identified_a_16550a(const Probe& probe) {
  EXPECT_EQ(name(probe.type), "16550A");
  EXPECT_FALSE(probe.reached_has_efr);
}

// ---------------------------------------------------------------------------
// autoconfig()

TEST_F(Linux8250Replay, Linux8250Autoconfig_IerTestSeesTheFourEnableBitsAndNothingElse) {
  // Linux masks the reads with 0x0f (some parts only let EFR-unlocked code set
  // IER[7:4]); a 16550 reads those bits as 0 anyway, so compare all eight.
  static constexpr Step kIerTest[] = {
      In(UART_IER, 0x00, 0xff, Irq::Low),  // scratch = serial_in(UART_IER)
      Out(UART_IER, 0x00, Irq::Low),
      In(UART_IER, 0x00, 0xff, Irq::Low),  // scratch2: must be 0
      Out(UART_IER, UART_IER_ALL_INTR, Irq::Low),
      In(UART_IER, 0x0f, 0xff, Irq::Low),  // scratch3: must be 0x0f
      Out(UART_IER, 0x00, Irq::Low),       // restore scratch
  };
  replay(kIerTest);
}

TEST_F(Linux8250Replay, Linux8250Autoconfig_IerTestKeepsOnlyTheLowNibbleOfAWrittenFF) {
  serial_out(UART_IER, 0xff);
  EXPECT_EQ(serial_in(UART_IER), 0x0f);  // bits 4-7 of a 16550's IER are always 0
}

TEST_F(Linux8250Replay, Linux8250Autoconfig_LoopbackTestReadsCtsAndDcdOnlyAndStaysSilent) {
  // MCR = LOOP | OUT2 | RTS (0x1a): in loopback RTS drives CTS and OUT2 drives
  // DCD, DTR (DSR) and OUT1 (RI) are off, so MSR & 0xf0 must be 0x90. OUT2 is
  // set, but in loopback the chip forces the OUT2 pin inactive: no interrupt.
  serial_out(UART_IER, UART_IER_ALL_INTR);  // everything enabled, to be sure nothing leaks out
  static constexpr Step kLoopTest[] = {
      InAny(UART_MCR, Irq::Low, Slot::Mcr),  // save_mcr
      InAny(UART_LCR, Irq::Low),             // save_lcr
      Out(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS, Irq::Low),
      In(UART_MSR, UART_MSR_DCD | UART_MSR_CTS, UART_MSR_STATUS_BITS, Irq::Low),
      Out(UART_MCR, 0x00, Irq::Low),  // save_mcr
  };
  replay(kLoopTest);
}

TEST_F(Linux8250Replay, Linux8250Autoconfig_FifoProbeReadsTheTwoFifoBitsOfA16550A) {
  static constexpr Step kFifoProbe[] = {
      Out(UART_LCR, UART_LCR_CONF_MODE_B),  // EFR = 0 behind LCR 0xbf, in case there is one
      Out(UART_EFR, 0),
      Out(UART_LCR, 0),
      Out(UART_FCR, UART_FCR_ENABLE_FIFO),
      In(UART_IIR, UART_IIR_FIFO_ENABLED_16550A, UART_IIR_FIFO_ENABLED, Irq::Low),  // >> 6 == 3
  };
  replay(kFifoProbe);
}

class Linux8250AutoconfigVariants : public Linux8250Replay,
                                    public ::testing::WithParamInterface<std::tuple<bool, bool>> {};

TEST_P(Linux8250AutoconfigVariants, Linux8250Autoconfig_IdentifiesA16550A) {
  const auto [variants, skip_test] = GetParam();
  const Probe probe = autoconfig(variants, skip_test);
  EXPECT_EQ(probe.ier_after_zero, 0x00);
  EXPECT_EQ(probe.ier_after_all, 0x0f);
  if (!skip_test) {
    EXPECT_EQ(probe.loop_msr, 0x90);
  }
  EXPECT_EQ(probe.iir_fifo_bits, UART_IIR_FIFO_ENABLED_16550A);
  expect_probe_identified_a_16550a(probe);
  EXPECT_EQ(irq.rising_edges, 0u) << "the probe runs with OUT2 low: IRQ 4 never rises";
  EXPECT_TRUE(sink.bytes.empty()) << "size_fifo() transmits in loopback only";
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutVariantProbesAndLoopTest, Linux8250AutoconfigVariants,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "Variants" : "NoVariants") +
                                  (std::get<1>(info.param) ? "SkipTest" : "LoopTest");
                         });

TEST_F(Linux8250Replay, Linux8250Autoconfig_FindsNoEfrWithDlabOrBehindLcrBF) {
  // A nonzero read at offset 2 with LCR 0x80 rules out the ST16C650V1 (PORT_16650)
  // and the FSL 64-byte 16550A; with LCR 0xbf it rules out every part with an EFR
  // (autoconfig_has_efr(): 16C950, XR16850, ST16654, ST16650V2). A 16550A has no
  // EFR: offset 2 reads IIR whatever LCR holds, and its FIFO bits are set.
  const Probe probe = autoconfig(true, true);
  ASSERT_TRUE(probe.efr_with_dlab.has_value());
  EXPECT_NE(*probe.efr_with_dlab, 0);
  ASSERT_TRUE(probe.efr_with_lcr_bf.has_value());
  EXPECT_NE(*probe.efr_with_lcr_bf, 0);
  EXPECT_FALSE(probe.reached_has_efr);
}

TEST_F(Linux8250Replay, Linux8250Autoconfig_FindsNo64ByteFifoModeWithOrWithoutDlab) {
  // FCR7_64BYTE is not a 16550A bit: IIR bit 5 stays 0 whether DLAB is set (a real
  // TI16750) or not (cheap clones), so IIR & 0xe0 reads 0xc0 both times.
  const Probe probe = autoconfig(true, true);
  EXPECT_EQ(probe.iir_64byte_without_dlab, 0xc0);
  EXPECT_EQ(probe.iir_64byte_with_dlab, 0xc0);
}

TEST_F(Linux8250Replay, Linux8250Autoconfig_IsNeitherANatSemiSuperIoNorAnXScale) {
  const Probe probe = autoconfig(true, true);
  ASSERT_TRUE(probe.natsemi_excr1.has_value()) << "EXCR1 test reached with LOOP bits equal";
  EXPECT_EQ(*probe.natsemi_excr1 & UART_MCR_LOOP, 0) << "offset 2 must not mirror MCR.LOOP";
  EXPECT_EQ(probe.ier_uue, 0) << "IER bit 6 (UUE) must not stick";
}

TEST_F(Linux8250Replay, Linux8250Autoconfig_SizeFifoCountsSixteenLoopedBytes) {
  const Probe probe = autoconfig(true, true);
  ASSERT_EQ(probe.fifo_sizes.size(), 1u);
  EXPECT_EQ(probe.fifo_sizes[0], 16) << "64 would make it a U6_16550A";
  std::vector<std::uint8_t> first16(16);
  for (int i = 0; i < 16; ++i) first16[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(probe.fifo_bytes, first16) << "the FIFO keeps the first 16 bytes; the rest overrun";
}

TEST_F(Linux8250Replay, Linux8250Autoconfig_LeavesAnEarlyConsoleWorking) {
  // An early console (earlyprintk=serial / console=uart8250,io,0x3f8) has set
  // 115200 8N1 with DTR and RTS before the driver probes; the probe must hand the
  // port back with its line settings intact.
  serial_out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
  serial_dl_write(1);
  serial_out(UART_LCR, UART_LCR_WLEN8);
  serial_out(UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
  expect_probe_identified_a_16550a(autoconfig(true, true));
  EXPECT_EQ(serial_in(UART_LCR), UART_LCR_WLEN8);
  EXPECT_EQ(serial_in(UART_MCR), UART_MCR_DTR | UART_MCR_RTS);
  EXPECT_EQ(serial_in(UART_IER), 0x00);
  serial_out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
  EXPECT_EQ(serial_dl_read(), 1);
  serial_out(UART_LCR, UART_LCR_WLEN8);
  EXPECT_EQ(serial_in(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
  serial_out(UART_TX, 'K');
  EXPECT_EQ(sink.bytes, std::vector<std::uint8_t>{'K'});
}

TEST_F(Linux8250Replay, Linux8250Autoconfig_PendingHostInputDoesNotChangeTheFifoSizeLinuxFinds) {
  // Input waiting on the host (typed or pasted while the kernel boots) must not
  // reach the receiver while size_fifo() has it in loopback: the PC16550D
  // disconnects SIN in loopback. With 48 bytes waiting and the backend refilling
  // the receiver each time Linux reads it full, Linux would count 16 + 48 = 64,
  // register a U6_16550A (64-byte FIFO) and then overrun the 16-byte TX FIFO
  // with 64-byte bursts. (Bytes that reach the FIFO before Linux sets LOOP are
  // read back as looped data and dropped, as on a real line: Linux only counts.)
  host.offer(std::string(49, 'x'));  // one byte fits the non-FIFO receiver, 48 wait
  const Probe probe = autoconfig(true, true);
  expect_probe_identified_a_16550a(probe);
  ASSERT_EQ(probe.fifo_sizes.size(), 1u);
  EXPECT_EQ(probe.fifo_sizes[0], 16);
}

// ---------------------------------------------------------------------------
// autoconfig_irq(): with UPF_AUTO_IRQ (CONFIG_SERIAL_8250_DETECT_IRQ) Linux finds
// the IRQ by enabling every source and watching which line rises.

TEST_F(Linux8250Replay, Linux8250AutoconfigIrq_EnablingAllSourcesWithOut2RaisesTheLine) {
  expect_probe_identified_a_16550a(autoconfig(false, false));  // leaves MSR deltas from the loop test
  const unsigned edges_before_probe_on = irq.rising_edges;
  static constexpr Step kIrqProbe[] = {
      In(UART_MCR, 0x00, 0xff, Irq::Low, Slot::Mcr),  // save_mcr
      In(UART_IER, 0x00, 0xff, Irq::Low, Slot::Ier),  // save_ier
      Out(UART_MCR, UART_MCR_OUT1 | UART_MCR_OUT2, Irq::Low),
      // irqs = probe_irq_on();
      Out(UART_MCR, 0, Irq::Low),
      Out(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2, Irq::Low),
      Out(UART_IER, UART_IER_ALL_INTR, Irq::High),  // THR empty: THRE at once
      InAny(UART_LSR, Irq::High),
      InAny(UART_RX, Irq::High),
      InAny(UART_IIR),  // THRE read: cleared; modem-status deltas may remain
      InAny(UART_MSR, Irq::Low),
      Out(UART_TX, 0xff, Irq::High),  // sent at once: THRE again
      // udelay(20); irq = probe_irq_off(irqs);
  };
  replay(kIrqProbe);
  EXPECT_GT(irq.rising_edges, edges_before_probe_on) << "probe_irq_off() would find no IRQ";
  EXPECT_TRUE(irq.level);
  serial_out(UART_MCR, 0x00);  // save_mcr
  EXPECT_FALSE(irq.level);
  serial_out(UART_IER, 0x00);  // save_ier
  EXPECT_EQ(sink.bytes, std::vector<std::uint8_t>{0xff}) << "the probe byte goes out on the line, as on a PC";
}

// ---------------------------------------------------------------------------
// serial8250_do_startup() and set_termios(): the first open of /dev/ttyS0.

// After autoconfig(): IER 0, FIFOs off, MCR and LCR 0. port->irq = 4, no
// UPF_NO_THRE_TEST, no UPQ_NO_TXEN_TEST, port->mctrl = 0 until uart_port_dtr_rts().
constexpr Step kStartup[] = {
    // serial8250_clear_fifos()
    Out(UART_FCR, UART_FCR_ENABLE_FIFO, Irq::Low),
    Out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT, Irq::Low),
    Out(UART_FCR, 0, Irq::Low),
    // Clear the interrupt registers.
    In(UART_LSR, UART_LSR_THRE | UART_LSR_TEMT, 0xff, Irq::Low),
    InAny(UART_RX, Irq::Low),
    In(UART_IIR, UART_IIR_NO_INT, 0xff, Irq::Low),
    InAny(UART_MSR, Irq::Low),
    // "LSR safety check": 0xff means no UART.
    In(UART_LSR, UART_LSR_THRE | UART_LSR_TEMT, 0xff, Irq::Low),
    // THRE re-assert test (UART_BUG_THRE), with OUT2 still low.
    In(UART_LSR, UART_LSR_THRE, UART_LSR_THRE, Irq::Low),  // wait_for_xmitr(up, UART_LSR_THRE)
    Out(UART_IER, UART_IER_THRI, Irq::Low),
    In(UART_IIR, 0x02, 0xff, Irq::Low, Slot::ThreTestIir1),  // iir1: THRE pending (FIFOs off: no 0xc0)
    Out(UART_IER, 0, Irq::Low),
    Out(UART_IER, UART_IER_THRI, Irq::Low),
    In(UART_IIR, 0x02, 0xff, Irq::Low, Slot::ThreTestIir),  // iir: a 16550 re-asserts THRE
    Out(UART_IER, 0, Irq::Low),
    // Initialise the UART; port->mctrl |= TIOCM_OUT2; serial8250_set_mctrl().
    Out(UART_LCR, UART_LCR_WLEN8, Irq::Low),
    Out(UART_MCR, UART_MCR_OUT2, Irq::Low),
    // UART_BUG_TXEN test: with OUT2 high the line now follows THRE.
    Out(UART_IER, UART_IER_THRI, Irq::High),
    In(UART_LSR, UART_LSR_THRE | UART_LSR_TEMT, 0xff, Irq::High, Slot::TxenTestLsr),
    In(UART_IIR, 0x02, 0xff, Irq::Low, Slot::TxenTestIir),  // reading THRE as the source clears it
    Out(UART_IER, 0, Irq::Low),
    // Clear the interrupt registers again for luck.
    InAny(UART_LSR, Irq::Low),
    InAny(UART_RX, Irq::Low),
    In(UART_IIR, UART_IIR_NO_INT, 0xff, Irq::Low),
    InAny(UART_MSR, Irq::Low),
    // up->ier = UART_IER_RLSI | UART_IER_RDI, written by set_termios below.
};

// serial8250_do_set_termios() for the default 9600 8N1 CLOCAL termios, then
// uart_port_dtr_rts() raising DTR and RTS.
constexpr Step kSetTermios9600[] = {
    Out(UART_IER, UART_IER_RLSI | UART_IER_RDI, Irq::Low),
    Out(UART_LCR, UART_LCR_WLEN8 | UART_LCR_DLAB, Irq::Low),  // serial8250_do_set_divisor()
    Out(UART_DLL, 12, Irq::Low),                              // 115200 / 9600
    Out(UART_DLM, 0, Irq::Low),
    Out(UART_LCR, UART_LCR_WLEN8, Irq::Low),
    Out(UART_FCR, UART_FCR_ENABLE_FIFO, Irq::Low),  // "emulated UARTs need two steps"
    Out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10, Irq::Low),  // uart_config[PORT_16550A].fcr
    Out(UART_MCR, UART_MCR_OUT2, Irq::Low),
    Out(UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS, Irq::Low),
};

TEST_F(Linux8250Replay, Linux8250Startup_ThreTestDoesNotSetUartBugThre) {
  expect_probe_identified_a_16550a(autoconfig(true, true));
  auto kept = replay(kStartup);
  // if ((!(iir1 & UART_IIR_NO_INT) && (iir & UART_IIR_NO_INT)) || UPF_BUG_THRE) bugs |= UART_BUG_THRE
  const bool bug_thre = !(kept[Slot::ThreTestIir1] & UART_IIR_NO_INT) && (kept[Slot::ThreTestIir] & UART_IIR_NO_INT);
  EXPECT_FALSE(bug_thre);
}

TEST_F(Linux8250Replay, Linux8250Startup_TxenTestDoesNotSetUartBugTxen) {
  expect_probe_identified_a_16550a(autoconfig(true, true));
  auto kept = replay(kStartup);
  // if (lsr & UART_LSR_TEMT && iir & UART_IIR_NO_INT) bugs |= UART_BUG_TXEN
  const bool bug_txen = (kept[Slot::TxenTestLsr] & UART_LSR_TEMT) && (kept[Slot::TxenTestIir] & UART_IIR_NO_INT);
  EXPECT_FALSE(bug_txen);
  EXPECT_EQ(irq.rising_edges, 1u) << "IRQ 4 rises once, during the TXEN test, and falls at the IIR read";
}

TEST_F(Linux8250Replay, Linux8250Startup_ReceivedByteRaisesIrq4AndTheHandlerLowersIt) {
  expect_probe_identified_a_16550a(autoconfig(true, true));
  replay(kStartup);
  replay(kSetTermios9600);
  EXPECT_EQ(uart.registers().iir, 0xc1) << "FIFOs on, nothing pending";
  EXPECT_FALSE(irq.level);
  host.offer("a");
  EXPECT_TRUE(irq.level) << "one byte below the trigger level: character timeout";
  EXPECT_EQ(handle_irq(), "a");
  EXPECT_FALSE(irq.level);
  host.offer("0123456789");  // past the 8-byte trigger
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(handle_irq(), "0123456789");
  EXPECT_FALSE(irq.level);
  EXPECT_TRUE(sink.bytes.empty());
}

TEST_F(Linux8250Replay, Linux8250Startup_HostInputIsNotLeftWaitingAfterOpen) {
  // Input typed while ttyS0 is closed: the receiver (FIFOs off after the probe)
  // holds one byte and the host keeps the rest. Opening the port enables, clears
  // and disables the FIFOs; whatever sat in the FIFO is dropped then, as on a
  // real 16550. But the host must learn that the receiver has room again: if
  // only reading a full receiver told it, the rest of the input would wait on
  // the host until the user types again, and then arrive late and out of turn.
  expect_probe_identified_a_16550a(autoconfig(true, true));
  host.offer("hello");
  EXPECT_EQ(host.pending(), 4u);
  replay(kStartup);
  replay(kSetTermios9600);
  EXPECT_EQ(host.pending(), 0u) << "input stuck on the host after open";
  handle_irq();  // whatever of "hello" survived the FIFO resets
  host.offer("!");
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(handle_irq(), "!");
}

}  // namespace
}  // namespace vmm
