#include "devices/WakeMarkPort.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace vmm {
namespace {

TEST(WakeMarkPort, PassesOnTheGsiOfEachWrite) {
  std::vector<std::uint32_t> marks;
  WakeMarkPort port([&](std::uint32_t gsi) { marks.push_back(gsi); });
  const std::array<std::uint8_t, 2> word{0x2c, 0x01};  // outw of GSI 300
  port.write(0, word);
  const std::array<std::uint8_t, 1> byte{5};  // an 8-bit write names GSIs below 256
  port.write(0, byte);
  port.write(1, byte);  // not at the base: ignored
  EXPECT_EQ(marks, (std::vector<std::uint32_t>{300, 5}));
}

TEST(WakeMarkPort, ReadsAsAllOnes) {
  WakeMarkPort port([](std::uint32_t) {});
  std::array<std::uint8_t, 2> data{};
  port.read(0, data);
  EXPECT_EQ(data, (std::array<std::uint8_t, 2>{0xff, 0xff}));
}

}  // namespace
}  // namespace vmm
