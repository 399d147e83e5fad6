#pragma once
// National Semiconductor PC16550D UART (COM1 on a PC: ports 0x3F8-0x3FF, IRQ 4).
//
// Conformance (PC16550D datasheet, June 1995):
//   implemented  all registers (RBR/THR, IER, IIR/FCR, LCR with DLAB and the
//                divisor latch, MCR, LSR, MSR, SCR) with their reset values
//                (LSR 0x60, IIR 0x01, MSR from the modem lines); 16-byte RX
//                FIFO with FCR enable, resets and trigger levels 1/4/8/14; IIR
//                bits 6-7 report the FIFOs; interrupt priority RLS > RDA and
//                character timeout > THRE > modem status; THRE raised when THR
//                empties and when ETBEI is set with THR empty, cleared by an IIR
//                read that reports it or by a THR write; loopback (TX to RX,
//                RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD) with the MSR delta
//                bits; overrun on RX; the interrupt output gated by MCR.OUT2 as
//                on a PC (so silent in loopback, where OUT2 is forced inactive).
//   simplified   the line runs as fast as the sink takes bytes: a THR write goes
//                into the 16-byte TX FIFO, which drains into the sink at once
//                while it has room; while it is full, bytes wait in the FIFO and
//                LSR.THRE/TEMT read 0, so the guest waits as on a slow line
//                (transmit_ready() resumes); the character timeout is reported
//                as soon as data waits below the trigger level (no four-
//                character timer); no parity, framing or break errors can occur
//                on a virtual line.
//   ignored      LCR line format and the divisor (stored and read back only);
//                FCR DMA mode select.
// The interrupt is a level recomputed after every access and signalled only on
// a change.

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "devices/BusDevice.h"
#include "devices/ByteSink.h"
#include "irq/IrqLine.h"

namespace vmm {

class Uart16550 final : public BusDevice {
 public:
  static constexpr std::uint64_t kPorts = 8;
  static constexpr std::size_t kFifoSize = 16;

  // Register offsets; DLAB is LCR bit 7.
  enum class Reg : std::uint8_t {
    Data = 0,        // r- RBR, -w THR; DLL when DLAB=1
    IntEnable = 1,   // rw IER; DLM when DLAB=1
    IntId = 2,       // r- IIR, -w FCR
    LineControl = 3, // rw LCR
    ModemControl = 4,// rw MCR
    LineStatus = 5,  // r- LSR
    ModemStatus = 6, // r- MSR
    Scratch = 7,     // rw SCR
  };

  // IER
  static constexpr std::uint8_t kIerRxData = 0x01;      // ERBFI
  static constexpr std::uint8_t kIerThrEmpty = 0x02;    // ETBEI
  static constexpr std::uint8_t kIerLineStatus = 0x04;  // ELSI
  static constexpr std::uint8_t kIerModemStatus = 0x08; // EDSSI
  // IIR
  static constexpr std::uint8_t kIirNoInterrupt = 0x01;
  static constexpr std::uint8_t kIirModemStatus = 0x00;
  static constexpr std::uint8_t kIirThrEmpty = 0x02;
  static constexpr std::uint8_t kIirRxData = 0x04;
  static constexpr std::uint8_t kIirLineStatus = 0x06;
  static constexpr std::uint8_t kIirCharTimeout = 0x0c;
  static constexpr std::uint8_t kIirFifosEnabled = 0xc0;
  // FCR
  static constexpr std::uint8_t kFcrEnable = 0x01;
  static constexpr std::uint8_t kFcrClearRx = 0x02;
  static constexpr std::uint8_t kFcrClearTx = 0x04;
  static constexpr std::uint8_t kFcrTriggerMask = 0xc0;
  // LCR
  static constexpr std::uint8_t kLcrDlab = 0x80;
  // MCR
  static constexpr std::uint8_t kMcrDtr = 0x01;
  static constexpr std::uint8_t kMcrRts = 0x02;
  static constexpr std::uint8_t kMcrOut1 = 0x04;
  static constexpr std::uint8_t kMcrOut2 = 0x08;
  static constexpr std::uint8_t kMcrLoop = 0x10;
  // LSR
  static constexpr std::uint8_t kLsrDataReady = 0x01;
  static constexpr std::uint8_t kLsrOverrun = 0x02;
  static constexpr std::uint8_t kLsrParity = 0x04;
  static constexpr std::uint8_t kLsrFraming = 0x08;
  static constexpr std::uint8_t kLsrBreak = 0x10;
  static constexpr std::uint8_t kLsrThrEmpty = 0x20;
  static constexpr std::uint8_t kLsrTxEmpty = 0x40;
  static constexpr std::uint8_t kLsrFifoError = 0x80;
  static constexpr std::uint8_t kLsrErrors = kLsrOverrun | kLsrParity | kLsrFraming | kLsrBreak;
  // MSR
  static constexpr std::uint8_t kMsrDeltaCts = 0x01;
  static constexpr std::uint8_t kMsrDeltaDsr = 0x02;
  static constexpr std::uint8_t kMsrTrailingRi = 0x04;
  static constexpr std::uint8_t kMsrDeltaDcd = 0x08;
  static constexpr std::uint8_t kMsrCts = 0x10;
  static constexpr std::uint8_t kMsrDsr = 0x20;
  static constexpr std::uint8_t kMsrRi = 0x40;
  static constexpr std::uint8_t kMsrDcd = 0x80;
  static constexpr std::uint8_t kMsrDeltas = 0x0f;

  Uart16550(IrqLine& irq, ByteSink& output);

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  // Input from the host side. Bytes beyond the free room are an overrun, as on
  // the wire, and in loopback the line is not connected at all; callers that
  // must not lose input ask rx_room() (0 in loopback) first, and learn through
  // the callback when it has room again.
  void receive(std::span<const std::uint8_t> bytes);
  std::size_t rx_room() const;
  // Takes as many bytes as there is room for, in one step, and says how many.
  // When it takes fewer than offered the receiver is full (or in loopback), so
  // the space callback will come.
  std::size_t receive_some(std::span<const std::uint8_t> bytes);
  // Called (with the device lock held: post work elsewhere, do not call back in)
  // when the receiver goes from no room for line input to some: the guest read
  // a full FIFO, enabled or cleared the FIFO, or left loopback.
  void set_rx_space_callback(std::function<void()> callback);

  // The sink has room again: move waiting TX FIFO bytes on.
  void transmit_ready();

  struct Registers {  // a plain copy of the state, for dumps and tests
    std::uint8_t ier = 0, iir = kIirNoInterrupt, fcr = 0, lcr = 0, mcr = 0, lsr = kLsrThrEmpty | kLsrTxEmpty,
                 msr = 0, scr = 0, dll = 0, dlm = 0;
    bool thr_interrupt = false;  // THRE interrupt pending (cleared by IIR read or THR write)
    bool irq_level = false;
  };
  Registers registers() const;

 private:
  std::uint8_t read_register(std::uint8_t reg);
  void write_register(std::uint8_t reg, std::uint8_t value);
  void transmit(std::uint8_t byte);
  void drain_tx();
  void push_rx(std::uint8_t byte);
  void set_modem_control(std::uint8_t value);
  void set_modem_inputs(std::uint8_t inputs);
  std::uint8_t interrupt_id() const;
  std::size_t fifo_capacity() const;
  std::size_t line_room() const;
  void after_access(bool line_was_blocked);
  std::size_t rx_trigger_level() const;
  void update_irq();

  mutable std::mutex mutex_;  // the device lock: vCPU threads and the event loop
  IrqLine& irq_;
  ByteSink& output_;
  Registers regs_;
  std::deque<std::uint8_t> rx_fifo_;
  std::deque<std::uint8_t> tx_fifo_;
  std::function<void()> on_rx_space_;
};

}  // namespace vmm
