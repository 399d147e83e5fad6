// KVM's binary statistics layout, written to a memfd as the kernel lays it out
// (header, id string, descriptors, data), read back through VcpuStats.

#include "vmm/kvm/VcpuStats.h"

#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "vmm/Errors.h"

namespace vmm {
namespace {

constexpr std::uint32_t kNameSize = 48;  // KVM_STATS_NAME_SIZE

struct Stat {
  std::string name;
  std::uint32_t flags;
  std::int16_t exponent;
  std::uint64_t value;
};

UniqueFd stats_file(const std::vector<Stat>& stats) {
  const std::uint32_t id_offset = sizeof(kvm_stats_header);
  const std::uint32_t desc_offset = id_offset + kNameSize;
  const std::uint32_t stride = 16 + kNameSize;
  const std::uint32_t data_offset = desc_offset + static_cast<std::uint32_t>(stats.size()) * stride;
  std::vector<std::uint8_t> bytes(data_offset + stats.size() * 8, 0);
  const kvm_stats_header header{0, kNameSize, static_cast<std::uint32_t>(stats.size()), id_offset, desc_offset,
                                data_offset};
  std::memcpy(bytes.data(), &header, sizeof header);
  std::memcpy(bytes.data() + id_offset, "kvm-1234/vcpu-0", 15);
  for (std::size_t i = 0; i < stats.size(); ++i) {
    std::uint8_t* entry = bytes.data() + desc_offset + i * stride;
    const std::uint16_t size = 1;
    // Values in reverse order, so a reader that assumed the descriptor order would be caught.
    const std::uint32_t offset = static_cast<std::uint32_t>((stats.size() - 1 - i) * 8);
    const std::uint32_t bucket = 0;
    std::memcpy(entry, &stats[i].flags, 4);
    std::memcpy(entry + 4, &stats[i].exponent, 2);
    std::memcpy(entry + 6, &size, 2);
    std::memcpy(entry + 8, &offset, 4);
    std::memcpy(entry + 12, &bucket, 4);
    std::memcpy(entry + 16, stats[i].name.data(), stats[i].name.size());
    std::memcpy(bytes.data() + data_offset + offset, &stats[i].value, 8);
  }
  UniqueFd fd(::memfd_create("kvm-stats", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  return fd;
}

constexpr std::uint32_t kCumulativeNs = KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS | KVM_STATS_BASE_POW10;
constexpr std::uint32_t kCumulativeCount = KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;

TEST(VcpuStats, FindsHaltTimeAndHaltExitsByName) {
  const VcpuStats stats(stats_file({{"halt_successful_poll", kCumulativeCount, 0, 5},
                                    {"halt_wait_ns", kCumulativeNs, -9, 123456789},
                                    {"halt_exits", kCumulativeCount, 0, 42}}));
  EXPECT_TRUE(stats.available());
  EXPECT_EQ(stats.halt_wait_ns(), 123456789u);
  EXPECT_EQ(stats.halt_exits(), 42u);
  EXPECT_EQ(stats.value("halt_successful_poll"), 5u);
  EXPECT_EQ(stats.value("no_such_statistic"), std::nullopt);
}

TEST(VcpuStats, ConvertsOtherTimeUnitsToNanoseconds) {
  const VcpuStats stats(stats_file({{"wait_us", kCumulativeNs, -6, 7}, {"wait_s", kCumulativeNs, 0, 2},
                                    {"count", kCumulativeCount, 0, 3}}));
  EXPECT_EQ(stats.nanoseconds("wait_us"), 7000u);
  EXPECT_EQ(stats.nanoseconds("wait_s"), 2'000'000'000u);
  EXPECT_EQ(stats.nanoseconds("count"), std::nullopt);  // not a time
}

TEST(VcpuStats, WithoutStatisticsEveryValueIsAbsent) {
  const VcpuStats stats;
  EXPECT_FALSE(stats.available());
  EXPECT_EQ(stats.halt_wait_ns(), std::nullopt);
  EXPECT_EQ(stats.halt_exits(), std::nullopt);
}

TEST(VcpuStats, ATruncatedFileIsAHostError) {
  UniqueFd fd(::memfd_create("kvm-stats", MFD_CLOEXEC));
  const kvm_stats_header header{0, kNameSize, 10, sizeof(kvm_stats_header), 100, 2000};
  ASSERT_EQ(::write(fd.get(), &header, sizeof header), static_cast<ssize_t>(sizeof header));
  EXPECT_THROW(VcpuStats{std::move(fd)}, HostError);
}

}  // namespace
}  // namespace vmm
