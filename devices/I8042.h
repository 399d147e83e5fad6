#pragma once
// The part of the i8042 keyboard controller a guest uses to reset a PC: command
// 0xFE (pulse output port bit 0, the CPU reset line) on port 0x64 ends the run.
//
// Conformance: status reads 0 (no data, input buffer empty) so that drivers
// waiting for the controller never spin; data reads 0; every other command is
// accepted and ignored. No keyboard or mouse is attached.

#include <functional>

#include "devices/BusDevice.h"

namespace vmm {

class I8042 {
 public:
  static constexpr std::uint64_t kDataPort = 0x60;
  static constexpr std::uint64_t kCommandPort = 0x64;
  static constexpr std::uint8_t kCmdPulseResetLine = 0xfe;

  explicit I8042(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

  // Port 0x61 sits between the data and command ports, so the controller is
  // registered as two one-port devices.
  class Port final : public BusDevice {
   public:
    Port(I8042& controller, bool command) : controller_(controller), command_(command) {}
    void read(std::uint64_t, std::span<std::uint8_t> data) override {
      for (auto& byte : data) byte = 0;
    }
    void write(std::uint64_t, std::span<const std::uint8_t> data) override {
      if (command_ && !data.empty() && data[0] == kCmdPulseResetLine) controller_.on_reset_();
    }

   private:
    I8042& controller_;
    bool command_;
  };

  Port& data_port() { return data_; }
  Port& command_port() { return command_; }

 private:
  std::function<void()> on_reset_;
  Port data_{*this, false};
  Port command_{*this, true};
};

}  // namespace vmm
