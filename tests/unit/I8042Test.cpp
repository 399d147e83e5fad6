// The i8042 as Linux's i8042 and atkbd drivers probe it: sequences of port
// writes and the bytes and status they must read back, the reset paths, and
// IRQ 1 following a keyboard byte in the output buffer.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "devices/I8042.h"

namespace vmm {
namespace {

class RecordingLine final : public IrqLine {
 public:
  void set_level(bool asserted) override { level = asserted; }
  bool level = false;
};

struct Access {
  enum Kind { Command, Data, ReadData, ReadStatus } kind;
  std::uint8_t value;  // written, or expected
};

struct Sequence {
  const char* what;
  std::vector<Access> accesses;
};

std::uint8_t in(I8042::Port& port) {
  std::uint8_t byte[1] = {0};
  port.read(0, byte);
  return byte[0];
}

void out(I8042::Port& port, std::uint8_t value) {
  const std::uint8_t byte[] = {value};
  port.write(0, byte);
}

TEST(I8042, WhatLinuxsDriversAskAndGet) {
  using A = Access;
  const Sequence sequences[] = {
      {"idle: nothing to read, system flag set, not inhibited", {{A::ReadStatus, 0x14}}},
      {"self-test", {{A::Command, 0xaa}, {A::ReadStatus, 0x1d}, {A::ReadData, 0x55}, {A::ReadStatus, 0x1c}}},
      {"read the command byte (reset value)", {{A::Command, 0x20}, {A::ReadData, 0x65}}},
      {"write then read the command byte",
       {{A::Command, 0x60}, {A::Data, 0x47}, {A::ReadStatus, 0x14}, {A::Command, 0x20}, {A::ReadData, 0x47}}},
      {"keyboard interface test", {{A::Command, 0xab}, {A::ReadData, 0x00}}},
      {"no auxiliary port: its test fails", {{A::Command, 0xa9}, {A::ReadData, 0x01}}},
      {"the auxiliary loop answers without AUXDATA",
       {{A::Command, 0xd3}, {A::Data, 0x5a}, {A::ReadStatus, 0x15}, {A::ReadData, 0x5a}}},
      {"disable and enable the auxiliary port in the command byte",
       {{A::Command, 0xa8}, {A::Command, 0x20}, {A::ReadData, 0x45}, {A::Command, 0xa7}, {A::Command, 0x20},
        {A::ReadData, 0x65}}},
      {"disable the keyboard", {{A::Command, 0xad}, {A::Command, 0x20}, {A::ReadData, 0x75}}},
      {"keyboard reset: ACK, then self-test passed", {{A::Data, 0xff}, {A::ReadData, 0xfa}, {A::ReadData, 0xaa}}},
      {"keyboard identify: an MF2 keyboard",
       {{A::Data, 0xf2}, {A::ReadData, 0xfa}, {A::ReadData, 0xab}, {A::ReadData, 0x83}, {A::ReadStatus, 0x14}}},
      {"keyboard LEDs: ACK the command and its argument", {{A::Data, 0xed}, {A::ReadData, 0xfa}, {A::Data, 0x07},
                                                           {A::ReadData, 0xfa}}},
      {"which scan code set", {{A::Data, 0xf0}, {A::ReadData, 0xfa}, {A::Data, 0x00}, {A::ReadData, 0xfa},
                               {A::ReadData, 0x02}}},
      {"keyboard echo", {{A::Data, 0xee}, {A::ReadData, 0xee}}},
      {"read the output port", {{A::Command, 0xd0}, {A::ReadData, 0x03}}},
      {"a byte as if from the keyboard", {{A::Command, 0xd2}, {A::Data, 0x1c}, {A::ReadData, 0x1c}}},
      {"an empty buffer reads its last byte again", {{A::Command, 0xab}, {A::ReadData, 0x00}, {A::Data, 0xee},
                                                      {A::ReadData, 0xee}, {A::ReadData, 0xee}}},
  };
  for (const Sequence& sequence : sequences) {
    SCOPED_TRACE(sequence.what);
    int resets = 0;
    I8042 controller([&] { ++resets; });
    std::size_t step = 0;
    for (const Access& access : sequence.accesses) {
      SCOPED_TRACE("step " + std::to_string(step++));
      switch (access.kind) {
        case Access::Command: out(controller.command_port(), access.value); break;
        case Access::Data: out(controller.data_port(), access.value); break;
        case Access::ReadData: EXPECT_EQ(in(controller.data_port()), access.value); break;
        case Access::ReadStatus: EXPECT_EQ(in(controller.command_port()), access.value); break;
      }
    }
    EXPECT_EQ(resets, 0);
  }
}

TEST(I8042, TheCpuResetPaths) {
  struct Case {
    const char* what;
    std::vector<std::pair<bool, std::uint8_t>> writes;  // (command port, value)
    int resets;
  };
  const Case cases[] = {
      {"pulse output line 0 (0xFE)", {{true, 0xfe}}, 1},
      {"pulse every line (0xF0)", {{true, 0xf0}}, 1},
      {"pulse line 1 only (0xFD): no reset", {{true, 0xfd}}, 0},
      {"write the output port with bit 0 clear", {{true, 0xd1}, {false, 0xfe}}, 1},
      {"write the output port with bit 0 set", {{true, 0xd1}, {false, 0xdf}}, 0},
      {"0xFE as a keyboard byte is not a reset", {{false, 0xfe}}, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    int resets = 0;
    I8042 controller([&] { ++resets; });
    for (const auto& [command, value] : c.writes) out(command ? controller.command_port() : controller.data_port(), value);
    EXPECT_EQ(resets, c.resets);
  }
}

TEST(I8042, Irq1FollowsAKeyboardByteWhileItsInterruptIsEnabled) {
  RecordingLine irq1;
  I8042 controller([] {}, &irq1);
  out(controller.command_port(), 0xaa);  // the controller's own answer: no IRQ 1
  EXPECT_FALSE(irq1.level);
  in(controller.data_port());
  out(controller.data_port(), 0xf2);  // keyboard: ACK, 0xAB, 0x83
  EXPECT_TRUE(irq1.level);
  in(controller.data_port());
  in(controller.data_port());
  EXPECT_TRUE(irq1.level);
  in(controller.data_port());
  EXPECT_FALSE(irq1.level);
  out(controller.command_port(), 0x60);
  out(controller.data_port(), 0x64);  // keyboard interrupt off
  out(controller.data_port(), 0xee);
  EXPECT_FALSE(irq1.level);
}

TEST(I8042, AGuestThatNeverReadsCannotGrowTheBuffer) {
  I8042 controller([] {});
  for (int i = 0; i < 100000; ++i) out(controller.data_port(), 0xf2);
  int bytes = 0;
  while (in(controller.command_port()) & I8042::kStatusOutputFull) {
    in(controller.data_port());
    ++bytes;
  }
  EXPECT_LE(bytes, 16);
}

}  // namespace
}  // namespace vmm
