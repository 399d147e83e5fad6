#include "devices/I8042.h"

namespace vmm {

namespace {

constexpr std::uint8_t kAck = 0xfa;
constexpr std::size_t kOutputLimit = 16;  // a guest that never reads cannot grow it

}  // namespace

void I8042::respond(std::uint8_t byte, bool keyboard) {
  if (output_.size() < kOutputLimit) output_.push_back({byte, keyboard});
}

void I8042::update_irq() {
  const bool level = !output_.empty() && output_.front().keyboard && (ctr_ & kCtrKeyboardInterrupt);
  if (level == irq_level_) return;
  irq_level_ = level;
  if (irq1_) irq1_->set_level(level);
}

std::uint8_t I8042::read_status() {
  std::lock_guard lock(mutex_);
  std::uint8_t status = kStatusUnlocked;
  if (!output_.empty()) status |= kStatusOutputFull;
  if (ctr_ & kCtrSystem) status |= kStatusSystem;
  if (last_was_command_) status |= kStatusCommand;
  return status;
}

std::uint8_t I8042::read_data() {
  std::lock_guard lock(mutex_);
  if (!output_.empty()) {
    last_output_ = output_.front().value;
    output_.pop_front();
  }
  update_irq();
  return last_output_;
}

void I8042::write_command(std::uint8_t command) {
  bool reset_now = false;
  {
    std::lock_guard lock(mutex_);
    last_was_command_ = true;
    pending_ = Pending::Keyboard;
    switch (command) {
      case 0x20: respond(ctr_, false); break;
      case 0x60: pending_ = Pending::CommandByte; break;
      case 0xa7: ctr_ |= kCtrAuxDisabled; break;
      case 0xa8: ctr_ &= static_cast<std::uint8_t>(~kCtrAuxDisabled); break;
      case 0xa9: respond(0x01, false); break;  // auxiliary clock line stuck low: no port
      case 0xaa:
        ctr_ |= kCtrSystem;
        respond(0x55, false);
        break;
      case 0xab: respond(0x00, false); break;
      case 0xad: ctr_ |= kCtrKeyboardDisabled; break;
      case 0xae: ctr_ &= static_cast<std::uint8_t>(~kCtrKeyboardDisabled); break;
      case 0xd0: respond(0x03, false); break;  // reset line high (not reset), A20 enabled
      case 0xd1: pending_ = Pending::OutputPort; break;
      case 0xd2: pending_ = Pending::KeyboardOutput; break;
      case 0xd3: pending_ = Pending::AuxLoop; break;
      default:
        // 0xF0-0xFF pulse the output lines whose bits are clear; line 0 is the CPU's reset.
        if (command >= 0xf0 && !(command & 0x01)) reset_now = true;
        break;
    }
    update_irq();
  }
  if (reset_now) on_reset_();  // outside the lock: it stops the machine
}

void I8042::write_data(std::uint8_t value) {
  bool reset_now = false;
  {
    std::lock_guard lock(mutex_);
    last_was_command_ = false;
    const Pending pending = pending_;
    pending_ = Pending::Keyboard;
    switch (pending) {
      case Pending::CommandByte: ctr_ = value; break;
      case Pending::OutputPort: reset_now = !(value & 0x01); break;
      case Pending::KeyboardOutput: respond(value); break;
      case Pending::AuxLoop: respond(value, false); break;  // back, but not as auxiliary data: nothing is wired
      case Pending::KeyboardArgument:
        respond(kAck);
        if (keyboard_argument_for_ == 0xf0 && value == 0) respond(0x02);  // "which set": set 2
        break;
      case Pending::Keyboard: keyboard_command(value); break;
    }
    update_irq();
  }
  if (reset_now) on_reset_();
}

void I8042::keyboard_command(std::uint8_t command) {
  // Writing to the keyboard enables it, as a real controller does.
  ctr_ &= static_cast<std::uint8_t>(~kCtrKeyboardDisabled);
  switch (command) {
    case 0xee: respond(0xee); return;  // echo
    case 0xed:
    case 0xf0:
    case 0xf3:
      respond(kAck);
      pending_ = Pending::KeyboardArgument;
      keyboard_argument_for_ = command;
      return;
    case 0xf2:
      respond(kAck);
      respond(0xab);
      respond(0x83);
      return;
    case 0xff:
      respond(kAck);
      respond(0xaa);
      return;
    default: respond(kAck); return;
  }
}

}  // namespace vmm
