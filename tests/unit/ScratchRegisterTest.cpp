#include "devices/ScratchRegister.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace vmm {
namespace {

std::vector<std::uint8_t> read(ScratchRegister& reg, std::uint64_t offset, std::size_t size) {
  std::vector<std::uint8_t> data(size);
  reg.read(offset, data);
  return data;
}

TEST(ScratchRegister, ReadsBackWhatWasWrittenAtEveryWidthAndOffset) {
  ScratchRegister reg;
  struct Step {
    std::uint64_t offset;
    std::vector<std::uint8_t> written;
    std::uint64_t read_offset;
    std::vector<std::uint8_t> read_back;
  };
  const Step steps[] = {
      {0, {0x11, 0x22, 0x33, 0x44}, 0, {0x11, 0x22, 0x33, 0x44}},             // 32-bit MMIO store
      {4, {0x55, 0x66, 0x77, 0x88}, 0, {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}},
      {0, {0xab}, 0, {0xab, 0x22}},                                            // an `out` byte: only the low byte changes
      {6, {0x01, 0x02, 0x03, 0x04}, 6, {0x01, 0x02, 0xff, 0xff}},               // past the end: dropped, reads all-ones
  };
  for (const auto& step : steps) {
    reg.write(step.offset, step.written);
    EXPECT_EQ(read(reg, step.read_offset, step.read_back.size()), step.read_back) << "offset " << step.offset;
  }
}

}  // namespace
}  // namespace vmm
