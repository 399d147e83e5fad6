#include "devices/TracePort.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace vmm {
namespace {

struct Recorder {
  std::vector<std::uint32_t> registered;
  unsigned syncs = 0;
  TracePort port(bool enabled) {
    return TracePort(enabled, [this](std::uint32_t a) { registered.push_back(a); }, [this] { ++syncs; });
  }
};

std::array<std::uint8_t, 4> dword(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 24)};
}

std::uint32_t read32(TracePort& port, std::uint64_t offset) {
  std::array<std::uint8_t, 4> data{};
  port.read(offset, data);
  return static_cast<std::uint32_t>(data[0] | data[1] << 8 | data[2] << 16) | static_cast<std::uint32_t>(data[3]) << 24;
}

TEST(TracePort, TheProbeReadsEnabledOnlyWhenTracing) {
  struct Row {
    bool enabled;
    std::uint64_t offset;
    std::uint32_t expected;
  };
  for (const Row row : {Row{true, 0, TRACE_PORT_ENABLED}, Row{false, 0, 0}, Row{true, 4, 0xffffffff},
                        Row{false, 4, 0xffffffff}, Row{true, 2, 0xffffffff}}) {
    Recorder r;
    auto port = r.port(row.enabled);
    EXPECT_EQ(read32(port, row.offset), row.expected) << "enabled=" << row.enabled << " offset=" << row.offset;
  }
}

TEST(TracePort, ANarrowProbeReadsTheLowBytes) {
  Recorder r;
  auto port = r.port(true);
  std::array<std::uint8_t, 2> word{};
  port.read(0, word);
  EXPECT_EQ(word, (std::array<std::uint8_t, 2>{0x45, 0x43}));  // "EC" of "ECRT"
}

TEST(TracePort, RegistersAndSyncsOnDwordWritesOnly) {
  struct Row {
    const char* what;
    bool enabled;
    std::uint64_t offset;
    std::vector<std::uint8_t> bytes;
    std::vector<std::uint32_t> registered;
    unsigned syncs;
  };
  const auto area = dword(0x161e80);
  const auto sync = dword(TRACE_SYNC);
  const std::vector<Row> rows{
      {"registration", true, 0, {area.begin(), area.end()}, {0x161e80}, 0},
      {"sync", true, 4, {sync.begin(), sync.end()}, {}, 1},
      {"sync with another value", true, 4, {2, 0, 0, 0}, {}, 0},
      {"16-bit registration", true, 0, {0x80, 0x1e}, {}, 0},
      {"8-bit sync", true, 4, {1}, {}, 0},
      {"write between the ports", true, 2, {area.begin(), area.end()}, {}, 0},
      {"registration while disabled", false, 0, {area.begin(), area.end()}, {}, 0},
      {"sync while disabled", false, 4, {sync.begin(), sync.end()}, {}, 0},
  };
  for (const auto& row : rows) {
    Recorder r;
    auto port = r.port(row.enabled);
    port.write(row.offset, row.bytes);
    EXPECT_EQ(r.registered, row.registered) << row.what;
    EXPECT_EQ(r.syncs, row.syncs) << row.what;
  }
}

TEST(TracePort, SpansTheRegistrationAndTheSyncPort) {
  EXPECT_EQ(TracePort::kBase, 0x524u);
  EXPECT_EQ(TracePort::kBase + TracePort::kSyncOffset, 0x528u);
  EXPECT_EQ(TracePort::kPorts, 8u);
}

}  // namespace
}  // namespace vmm
