#pragma once
// The PC's i8042 keyboard controller with a keyboard and no auxiliary (mouse)
// port, as Linux's i8042 and atkbd drivers probe it, and the reset a guest
// asks of it: command 0xFE (pulse output line 0, the CPU's reset) ends the run.
//
// Conformance (IBM PS/2 technical reference, "Keyboard/auxiliary device
// controller"; what Linux's drivers/input/serio/i8042.c and atkbd.c expect):
// - Status (0x64 read): OBF when the output buffer holds a byte, AUXDATA
//   never (no auxiliary device), SYS after the self-test (set at power-on, as
//   the BIOS leaves it), CMD when the last write went to 0x64, the keyboard
//   not inhibited. IBF never: every write is taken at once.
// - Controller commands: 0x20 read the command byte (CTR), 0x60 write it (the
//   next byte at 0x60), 0xAA self-test (0x55), 0xAB keyboard interface test
//   (0x00), 0xA9 auxiliary interface test (0x01: clock line stuck low, no
//   port), 0xAD/0xAE disable/enable the keyboard, 0xA7/0xA8 the auxiliary
//   port's CTR bit, 0xD0 read the output port, 0xD1 write it (bit 0 clear
//   resets the CPU), 0xD2 the next byte as if from the keyboard, 0xD3 the
//   next byte back without AUXDATA (an auxiliary loop that is not wired),
//   0xF0-0xFF pulse output lines (line 0 resets). Others are ignored.
// - The keyboard (bytes written to 0x60 otherwise): ACK (0xFA) to every
//   command; 0xFF reset adds 0xAA (self-test passed), 0xF2 identify adds
//   0xAB 0x83 (an MF2 keyboard), 0xEE echo answers 0xEE; commands with an
//   argument (0xED LEDs, 0xF0 scan code set, 0xF3 typematic) ACK it too;
//   0xF0 0x00 adds the current set (2). No key is ever pressed.
// - IRQ 1 is the output buffer full with a keyboard byte while CTR bit 0
//   (keyboard interrupt) is set, recomputed after every access.
// - Data port reads take the oldest byte of the output buffer (the last
//   byte again when it is empty, as the latch holds it).

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "devices/BusDevice.h"
#include "irq/IrqLine.h"

namespace vmm {

class I8042 {
 public:
  static constexpr std::uint64_t kDataPort = 0x60;
  static constexpr std::uint64_t kCommandPort = 0x64;
  static constexpr std::uint8_t kCmdPulseResetLine = 0xfe;
  // Status register bits.
  static constexpr std::uint8_t kStatusOutputFull = 0x01, kStatusSystem = 0x04, kStatusCommand = 0x08,
                                kStatusUnlocked = 0x10, kStatusAuxData = 0x20;
  // Command byte bits.
  static constexpr std::uint8_t kCtrKeyboardInterrupt = 0x01, kCtrSystem = 0x04, kCtrKeyboardDisabled = 0x10,
                                kCtrAuxDisabled = 0x20, kCtrTranslate = 0x40;

  // `irq1` may be null (no keyboard interrupt wired).
  I8042(std::function<void()> on_reset, IrqLine* irq1 = nullptr) : on_reset_(std::move(on_reset)), irq1_(irq1) {}

  // Port 0x61 sits between the data and command ports, so the controller is
  // registered as two one-port devices.
  class Port final : public BusDevice {
   public:
    Port(I8042& controller, bool command) : controller_(controller), command_(command) {}
    void read(std::uint64_t, std::span<std::uint8_t> data) override {
      for (auto& byte : data) byte = command_ ? controller_.read_status() : controller_.read_data();
    }
    void write(std::uint64_t, std::span<const std::uint8_t> data) override {
      if (data.empty()) return;
      if (command_)
        controller_.write_command(data[0]);
      else
        controller_.write_data(data[0]);
    }

   private:
    I8042& controller_;
    bool command_;
  };

  Port& data_port() { return data_; }
  Port& command_port() { return command_; }

 private:
  // What the next byte written to 0x60 is for.
  enum class Pending { Keyboard, CommandByte, OutputPort, KeyboardOutput, AuxLoop, KeyboardArgument };

  std::uint8_t read_status();
  std::uint8_t read_data();
  void write_command(std::uint8_t command);
  void write_data(std::uint8_t value);
  void keyboard_command(std::uint8_t command);
  void respond(std::uint8_t byte, bool keyboard = true);
  void update_irq();

  std::function<void()> on_reset_;
  IrqLine* irq1_;
  std::mutex mutex_;  // vCPUs may touch it at once
  struct Byte {
    std::uint8_t value;
    bool keyboard;  // from the keyboard (IRQ 1), not the controller itself
  };
  std::deque<Byte> output_;
  std::uint8_t last_output_ = 0;
  std::uint8_t ctr_ = kCtrKeyboardInterrupt | kCtrSystem | kCtrAuxDisabled | kCtrTranslate;
  bool last_was_command_ = false;
  Pending pending_ = Pending::Keyboard;
  std::uint8_t keyboard_argument_for_ = 0;
  bool irq_level_ = false;
  Port data_{*this, false};
  Port command_{*this, true};
};

}  // namespace vmm
