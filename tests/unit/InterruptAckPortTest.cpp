#include "devices/InterruptAckPort.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <thread>

namespace vmm {
namespace {

using Answer = InterruptAckPort::Answer;

std::uint16_t read16(InterruptAckPort& port) {
  std::array<std::uint8_t, 2> data{};
  port.read(0, data);
  return static_cast<std::uint16_t>(data[0] | data[1] << 8);
}

void write16(InterruptAckPort& port, std::uint16_t gsi) {
  const std::array<std::uint8_t, 2> data{static_cast<std::uint8_t>(gsi), static_cast<std::uint8_t>(gsi >> 8)};
  port.write(0, data);
}

TEST(InterruptAckPort, ReadsBackWhatTheLastAcknowledgementFound) {
  std::uint32_t acknowledged = 0;
  InterruptAckPort port([&](std::uint32_t gsi) {
    acknowledged = gsi;
    return gsi == 17 ? Answer::Delivered : gsi == 5 ? Answer::Spurious : Answer::NoDevice;
  });
  struct Row {
    std::uint16_t gsi;
    std::uint16_t read_back;
  };
  for (const Row row : {Row{17, 1}, Row{5, 0}, Row{300, 0xffff}, Row{17, 1}}) {
    write16(port, row.gsi);
    EXPECT_EQ(acknowledged, row.gsi);
    EXPECT_EQ(read16(port), row.read_back) << "gsi " << row.gsi;
  }
  const std::array<std::uint8_t, 1> byte{9};  // an 8-bit write names GSIs below 256
  port.write(0, byte);
  EXPECT_EQ(acknowledged, 9u);
}

// Each vCPU has a thread of its own; one vCPU's acknowledgement must not change
// what another's handler reads back.
TEST(InterruptAckPort, EachVcpuThreadReadsItsOwnAnswer) {
  InterruptAckPort port([](std::uint32_t gsi) { return gsi == 17 ? Answer::Delivered : Answer::Spurious; });
  write16(port, 17);
  std::thread other([&] {
    EXPECT_EQ(read16(port), 0xffff);  // nothing acknowledged on this thread yet
    write16(port, 5);
    EXPECT_EQ(read16(port), 0);
  });
  other.join();
  EXPECT_EQ(read16(port), 1);
}

}  // namespace
}  // namespace vmm
