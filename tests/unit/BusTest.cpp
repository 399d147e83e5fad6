#include "devices/Bus.h"

#include <gtest/gtest.h>

#include <vector>

namespace vmm {
namespace {

class RecordingDevice : public BusDevice {
 public:
  struct Access {
    bool write;
    std::uint64_t offset;
    std::size_t size;
  };
  void read(std::uint64_t offset, std::span<std::uint8_t> data) override {
    accesses.push_back({false, offset, data.size()});
    for (auto& byte : data) byte = static_cast<std::uint8_t>(offset);
  }
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    accesses.push_back({true, offset, data.size()});
  }
  std::vector<Access> accesses;
};

TEST(Bus, DispatchesByRangeWithOffsets) {
  Bus bus("test bus");
  RecordingDevice pit, uart;
  bus.add(0x40, 4, pit, "pit");
  bus.add(0x3f8, 8, uart, "uart");
  std::uint8_t byte = 0;
  EXPECT_TRUE(bus.read(0x43, std::span(&byte, 1)));
  EXPECT_EQ(byte, 3);
  EXPECT_TRUE(bus.write(0x3fd, std::span<const std::uint8_t>(&byte, 1)));
  ASSERT_EQ(pit.accesses.size(), 1u);
  EXPECT_EQ(pit.accesses[0].offset, 3u);
  ASSERT_EQ(uart.accesses.size(), 1u);
  EXPECT_TRUE(uart.accesses[0].write);
  EXPECT_EQ(uart.accesses[0].offset, 5u);
}

TEST(Bus, UnclaimedReadsAllOnesAndIsCounted) {
  Bus bus("test bus");
  RecordingDevice device;
  bus.add(0x40, 4, device, "pit");
  std::uint8_t word[2] = {0, 0};
  EXPECT_FALSE(bus.read(0x44, word));
  EXPECT_EQ(word[0], 0xff);
  EXPECT_EQ(word[1], 0xff);
  EXPECT_FALSE(bus.write(0x3f, std::span<const std::uint8_t>(word, 1)));
  EXPECT_FALSE(bus.read(0, word));
  EXPECT_EQ(bus.unclaimed_accesses(), 3u);
  EXPECT_TRUE(device.accesses.empty());
}

TEST(Bus, RejectsOverlapsOnEitherSide) {
  struct Case {
    std::uint64_t base, size;
    bool ok;
  };
  const Case cases[] = {
      {0x3c, 4, true},   // ends right where the existing range starts
      {0x44, 1, true},   // starts right after it ends
      {0x3f, 2, false},  // overlaps the start
      {0x43, 4, false},  // overlaps the end
      {0x41, 1, false},  // inside
      {0x00, 0x100, false},  // covers it
      {0x50, 0, false},  // empty
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.base);
    Bus bus("test bus");
    RecordingDevice existing, added;
    bus.add(0x40, 4, existing, "pit");
    if (c.ok)
      EXPECT_NO_THROW(bus.add(c.base, c.size, added, "new"));
    else
      EXPECT_THROW(bus.add(c.base, c.size, added, "new"), std::invalid_argument);
  }
}

TEST(Bus, OverlapErrorNamesBothDevices) {
  Bus bus("port I/O bus");
  RecordingDevice a, b;
  bus.add(0x3f8, 8, a, "COM1");
  try {
    bus.add(0x3fc, 2, b, "rogue");
    FAIL() << "overlap accepted";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("rogue"), std::string::npos);
    EXPECT_NE(message.find("COM1"), std::string::npos);
  }
}

}  // namespace
}  // namespace vmm
