#include "devices/Uart16550.h"

#include <algorithm>

namespace vmm {

namespace {

// With nothing attached, a PC serial port sees a modem that is present and ready.
constexpr std::uint8_t kIdleModemInputs = Uart16550::kMsrCts | Uart16550::kMsrDsr | Uart16550::kMsrDcd;

}  // namespace

Uart16550::Uart16550(IrqLine& irq, ByteSink& output) : irq_(irq), output_(output) {
  regs_.msr = kIdleModemInputs;
}

Uart16550::Registers Uart16550::registers() const {
  std::lock_guard lock(mutex_);
  Registers copy = regs_;
  copy.iir = interrupt_id();
  return copy;
}

std::size_t Uart16550::fifo_capacity() const { return (regs_.fcr & kFcrEnable) ? kFifoSize : 1; }

std::size_t Uart16550::rx_trigger_level() const {
  static constexpr std::size_t kLevels[] = {1, 4, 8, 14};
  return (regs_.fcr & kFcrEnable) ? kLevels[regs_.fcr >> 6] : 1;
}

std::size_t Uart16550::rx_room() const {
  std::lock_guard lock(mutex_);
  return line_room();
}

std::size_t Uart16550::line_room() const {
  // In loopback the receiver listens to the transmitter, not the line: input
  // from the host waits until the guest leaves loopback.
  if (regs_.mcr & kMcrLoop) return 0;
  return fifo_capacity() - std::min(fifo_capacity(), rx_fifo_.size());
}

std::uint8_t Uart16550::interrupt_id() const {
  const std::uint8_t fifo_bits = (regs_.fcr & kFcrEnable) ? kIirFifosEnabled : 0;
  if ((regs_.ier & kIerLineStatus) && (regs_.lsr & kLsrErrors)) return fifo_bits | kIirLineStatus;
  if ((regs_.ier & kIerRxData) && !rx_fifo_.empty()) {
    if (rx_fifo_.size() >= rx_trigger_level()) return fifo_bits | kIirRxData;
    return fifo_bits | kIirCharTimeout;
  }
  if ((regs_.ier & kIerThrEmpty) && regs_.thr_interrupt) return fifo_bits | kIirThrEmpty;
  if ((regs_.ier & kIerModemStatus) && (regs_.msr & kMsrDeltas)) return fifo_bits | kIirModemStatus;
  return fifo_bits | kIirNoInterrupt;
}

void Uart16550::update_irq() {
  const bool pending = !(interrupt_id() & kIirNoInterrupt);
  const bool out2_drives_pin = (regs_.mcr & kMcrOut2) && !(regs_.mcr & kMcrLoop);
  const bool level = pending && out2_drives_pin;
  if (level == regs_.irq_level) return;
  regs_.irq_level = level;
  irq_.set_level(level);
}

void Uart16550::push_rx(std::uint8_t byte) {
  if (rx_fifo_.size() >= fifo_capacity()) {
    regs_.lsr |= kLsrOverrun;  // the character in the shift register is lost
    return;
  }
  rx_fifo_.push_back(byte);
  regs_.lsr |= kLsrDataReady;
}

void Uart16550::transmit(std::uint8_t byte) {
  if (regs_.mcr & kMcrLoop) {
    // The transmitter still runs in loopback: the byte goes round to the
    // receiver, and THR is empty again unless bytes for the line still wait.
    push_rx(byte);
    if (tx_fifo_.empty()) {
      regs_.lsr |= kLsrThrEmpty | kLsrTxEmpty;
      regs_.thr_interrupt = true;
    }
    return;
  }
  if (tx_fifo_.size() < fifo_capacity()) tx_fifo_.push_back(byte);  // a full FIFO loses the byte, as the chip does
  drain_tx();
}

void Uart16550::drain_tx() {
  while (!tx_fifo_.empty()) {
    std::uint8_t chunk[kFifoSize];
    const std::size_t length = std::min(tx_fifo_.size(), sizeof chunk);
    std::copy_n(tx_fifo_.begin(), length, chunk);
    const std::size_t taken = output_.write(std::span<const std::uint8_t>(chunk, length));
    tx_fifo_.erase(tx_fifo_.begin(), tx_fifo_.begin() + static_cast<std::ptrdiff_t>(taken));
    if (taken < length) break;
  }
  if (tx_fifo_.empty()) {
    regs_.lsr |= kLsrThrEmpty | kLsrTxEmpty;
    regs_.thr_interrupt = true;  // the FIFO ran empty: THRE fires
  } else {
    regs_.lsr &= static_cast<std::uint8_t>(~(kLsrThrEmpty | kLsrTxEmpty));
  }
}

void Uart16550::transmit_ready() {
  std::lock_guard lock(mutex_);
  if (tx_fifo_.empty()) return;
  drain_tx();
  update_irq();
}

void Uart16550::set_rx_space_callback(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  on_rx_space_ = std::move(callback);
}

void Uart16550::set_modem_inputs(std::uint8_t inputs) {
  const std::uint8_t old = regs_.msr;
  std::uint8_t deltas = 0;
  if ((old ^ inputs) & kMsrCts) deltas |= kMsrDeltaCts;
  if ((old ^ inputs) & kMsrDsr) deltas |= kMsrDeltaDsr;
  if ((old ^ inputs) & kMsrDcd) deltas |= kMsrDeltaDcd;
  if ((old & kMsrRi) && !(inputs & kMsrRi)) deltas |= kMsrTrailingRi;
  regs_.msr = static_cast<std::uint8_t>(inputs | ((old | deltas) & kMsrDeltas));
}

void Uart16550::set_modem_control(std::uint8_t value) {
  regs_.mcr = value & 0x1f;
  if (regs_.mcr & kMcrLoop) {
    std::uint8_t inputs = 0;
    if (regs_.mcr & kMcrRts) inputs |= kMsrCts;
    if (regs_.mcr & kMcrDtr) inputs |= kMsrDsr;
    if (regs_.mcr & kMcrOut1) inputs |= kMsrRi;
    if (regs_.mcr & kMcrOut2) inputs |= kMsrDcd;
    set_modem_inputs(inputs);
  } else {
    set_modem_inputs(kIdleModemInputs);
  }
}

std::uint8_t Uart16550::read_register(std::uint8_t reg) {
  const bool dlab = regs_.lcr & kLcrDlab;
  switch (static_cast<Reg>(reg)) {
    case Reg::Data: {
      if (dlab) return regs_.dll;
      if (rx_fifo_.empty()) return 0;
      const std::uint8_t byte = rx_fifo_.front();
      rx_fifo_.pop_front();
      if (rx_fifo_.empty()) regs_.lsr &= static_cast<std::uint8_t>(~kLsrDataReady);
      return byte;
    }
    case Reg::IntEnable: return dlab ? regs_.dlm : regs_.ier;
    case Reg::IntId: {
      const std::uint8_t id = interrupt_id();
      if ((id & 0x0f) == kIirThrEmpty) regs_.thr_interrupt = false;
      return id;
    }
    case Reg::LineControl: return regs_.lcr;
    case Reg::ModemControl: return regs_.mcr;
    case Reg::LineStatus: {
      const std::uint8_t lsr = regs_.lsr;
      regs_.lsr &= static_cast<std::uint8_t>(~(kLsrErrors | kLsrFifoError));
      return lsr;
    }
    case Reg::ModemStatus: {
      const std::uint8_t msr = regs_.msr;
      regs_.msr &= static_cast<std::uint8_t>(~kMsrDeltas);
      return msr;
    }
    case Reg::Scratch: return regs_.scr;
  }
  return 0xff;
}

void Uart16550::write_register(std::uint8_t reg, std::uint8_t value) {
  const bool dlab = regs_.lcr & kLcrDlab;
  switch (static_cast<Reg>(reg)) {
    case Reg::Data:
      if (dlab) {
        regs_.dll = value;
      } else {
        regs_.thr_interrupt = false;
        transmit(value);
      }
      break;
    case Reg::IntEnable:
      if (dlab) {
        regs_.dlm = value;
        break;
      }
      // Enabling ETBEI while THR is empty raises THRE at once, as the chip does.
      if ((value & kIerThrEmpty) && !(regs_.ier & kIerThrEmpty) && (regs_.lsr & kLsrThrEmpty))
        regs_.thr_interrupt = true;
      regs_.ier = value & 0x0f;
      break;
    case Reg::IntId: {  // FCR
      const bool was_enabled = regs_.fcr & kFcrEnable;
      const bool enable = value & kFcrEnable;
      if (enable != was_enabled || (value & kFcrClearRx)) {
        rx_fifo_.clear();
        regs_.lsr &= static_cast<std::uint8_t>(~(kLsrDataReady | kLsrFifoError));
      }
      if (enable != was_enabled || (value & kFcrClearTx)) {
        // THR empties (if it was not already): THRE becomes pending. Changing
        // FCR0 makes the first transmitter interrupt immediate, per the datasheet.
        if (!tx_fifo_.empty() || enable != was_enabled) regs_.thr_interrupt = true;
        tx_fifo_.clear();
        regs_.lsr |= kLsrThrEmpty | kLsrTxEmpty;
      }
      regs_.fcr = enable ? static_cast<std::uint8_t>(value & (kFcrEnable | kFcrTriggerMask)) : 0;
      break;
    }
    case Reg::LineControl: regs_.lcr = value; break;
    case Reg::ModemControl: set_modem_control(value); break;
    case Reg::LineStatus: break;  // factory test only
    case Reg::ModemStatus: break; // read-only
    case Reg::Scratch: regs_.scr = value; break;
  }
}

void Uart16550::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::fill(data.begin(), data.end(), 0xff);
  if (data.empty() || offset >= kPorts) return;
  std::lock_guard lock(mutex_);
  const bool line_was_blocked = line_room() == 0;
  data[0] = read_register(static_cast<std::uint8_t>(offset));
  after_access(line_was_blocked);
}

void Uart16550::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (data.empty() || offset >= kPorts) return;
  std::lock_guard lock(mutex_);
  const bool line_was_blocked = line_room() == 0;
  write_register(static_cast<std::uint8_t>(offset), data[0]);
  after_access(line_was_blocked);
}

void Uart16550::after_access(bool line_was_blocked) {
  update_irq();
  // A full receiver was read, the FIFO was enabled or cleared, or loopback
  // ended: input the host holds back can flow again.
  if (line_was_blocked && line_room() > 0 && on_rx_space_) on_rx_space_();
}

std::size_t Uart16550::receive_some(std::span<const std::uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  const std::size_t taken = std::min(line_room(), bytes.size());
  for (std::size_t i = 0; i < taken; ++i) push_rx(bytes[i]);
  if (taken > 0) update_irq();
  return taken;
}

void Uart16550::receive(std::span<const std::uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  if (regs_.mcr & kMcrLoop) return;  // the line is disconnected from the receiver in loopback
  for (std::uint8_t byte : bytes) push_rx(byte);
  update_irq();
}

}  // namespace vmm
