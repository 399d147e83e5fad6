// CPUID per vCPU, rewritten from a synthetic KVM_GET_SUPPORTED_CPUID of a
// 16-thread host, must describe one package of N single-thread cores in which
// vCPU i has APIC id i, in every leaf a guest reads the topology from.

#include "vmm/kvm/CpuTopology.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

namespace vmm {
namespace {

kvm_cpuid_entry2 leaf(std::uint32_t function, std::uint32_t index, std::uint32_t eax, std::uint32_t ebx,
                      std::uint32_t ecx, std::uint32_t edx, bool indexed = false) {
  kvm_cpuid_entry2 entry{};
  entry.function = function;
  entry.index = index;
  entry.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
  entry.eax = eax;
  entry.ebx = ebx;
  entry.ecx = ecx;
  entry.edx = edx;
  return entry;
}

// Leaf 4 EAX: type, level, self-initialising, and the host's sharing and core fields.
constexpr std::uint32_t cache(std::uint32_t type, std::uint32_t level) {
  return type | level << 5 | 1u << 8 | 15u << 14 | 7u << 26;
}

std::vector<kvm_cpuid_entry2> host(std::uint32_t max_basic_leaf = 0x1f) {
  return {
      leaf(0x0, 0, max_basic_leaf, 0x756e6547, 0x6c65746e, 0x49656e69),  // GenuineIntel
      leaf(0x1, 0, 0x000906ea, 0x0a100800, 0x7ffafbff, 0x178bfbff | 1u << 28),
      leaf(0x4, 0, cache(1, 1), 0x01c0003f, 0x3f, 0, true),   // L1 data
      leaf(0x4, 1, cache(2, 1), 0x01c0003f, 0x3f, 0, true),   // L1 instruction
      leaf(0x4, 2, cache(3, 2), 0x01c0003f, 0x3ff, 0, true),  // L2
      leaf(0x4, 3, cache(3, 3), 0x03c0003f, 0x2fff, 6, true), // L3
      leaf(0x4, 4, 0, 0, 0, 0, true),                          // no more caches
      leaf(0xb, 0, 1, 2, 0x100, 0x0a, true),  // the host's SMT level only: subleaves 1 and 2 missing
      leaf(0x1f, 0, 1, 2, 0x100, 0x0a, true),
      leaf(0x1f, 1, 4, 16, 0x201, 0x0a, true),
      leaf(0x80000001, 0, 0, 0, 0x121, 0x2c100800),
  };
}

std::vector<kvm_cpuid_entry2> find_all(const std::vector<kvm_cpuid_entry2>& cpuid, std::uint32_t function) {
  std::vector<kvm_cpuid_entry2> found;
  std::copy_if(cpuid.begin(), cpuid.end(), std::back_inserter(found),
               [&](const kvm_cpuid_entry2& entry) { return entry.function == function; });
  return found;
}

kvm_cpuid_entry2 find(const std::vector<kvm_cpuid_entry2>& cpuid, std::uint32_t function, std::uint32_t index = 0) {
  for (const auto& entry : cpuid)
    if (entry.function == function && entry.index == index) return entry;
  ADD_FAILURE() << "no CPUID leaf " << function << "." << index;
  return {};
}

struct Case {
  unsigned cpus, index, core_bits, addressable;
};
const Case kCases[] = {{1, 0, 0, 1}, {2, 0, 1, 2}, {2, 1, 1, 2}, {3, 2, 2, 4}, {16, 15, 4, 16}, {64, 63, 6, 64}};

TEST(CpuTopology, Leaf1CarriesTheApicIdTheAddressableCountAndHtt) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(::testing::Message() << c.cpus << " CPUs, vCPU " << c.index);
    const CpuTopology topology(c.cpus);
    EXPECT_EQ(topology.core_id_bits(), c.core_bits);
    const auto leaf1 = find(topology.cpuid_for(host(), c.index), 0x1);
    EXPECT_EQ(leaf1.ebx >> 24, c.index);
    EXPECT_EQ((leaf1.ebx >> 16) & 0xff, c.addressable);
    EXPECT_EQ(leaf1.ebx & 0xffff, 0x0800u);  // brand index and CLFLUSH size kept
    EXPECT_EQ((leaf1.edx >> 28) & 1, c.cpus > 1 ? 1u : 0u);
    EXPECT_EQ(leaf1.edx & ~(1u << 28), 0x178bfbffu & ~(1u << 28));
    EXPECT_EQ(leaf1.eax, 0x000906eau);
    EXPECT_EQ(leaf1.ecx, 0x7ffafbffu);
  }
}

TEST(CpuTopology, Leaf4CountsThePackagesCoresOnEveryCache) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(::testing::Message() << c.cpus << " CPUs");
    const auto caches = find_all(CpuTopology(c.cpus).cpuid_for(host(), c.index), 0x4);
    ASSERT_EQ(caches.size(), 5u);
    for (const auto& entry : caches) {
      SCOPED_TRACE(entry.index);
      if ((entry.eax & 0x1f) == 0) {
        EXPECT_EQ(entry.eax, 0u);  // the terminator stays one
        continue;
      }
      EXPECT_EQ(entry.eax >> 26, c.cpus - 1);
      const std::uint32_t level = (entry.eax >> 5) & 7;
      EXPECT_EQ((entry.eax >> 14) & 0xfff, level == 3 ? c.addressable - 1 : 0u);  // L1, L2 per core; L3 shared
      EXPECT_EQ(entry.eax & 0x3fff, cache(entry.eax & 0x1f, level) & 0x3fff);
      EXPECT_EQ(entry.flags, static_cast<std::uint32_t>(KVM_CPUID_FLAG_SIGNIFCANT_INDEX));
    }
  }
}

TEST(CpuTopology, ExtendedTopologyLeavesHaveAnSmtACoreAndAnEndLevel) {
  for (const auto& c : kCases) {
    for (const std::uint32_t function : {0xbu, 0x1fu}) {
      SCOPED_TRACE(::testing::Message() << c.cpus << " CPUs, vCPU " << c.index << ", leaf " << function);
      const auto cpuid = CpuTopology(c.cpus).cpuid_for(host(), c.index);
      const auto entries = find_all(cpuid, function);
      ASSERT_EQ(entries.size(), 3u);  // one of each, the host's own dropped
      struct Expected {
        std::uint32_t eax, ebx, ecx;
      };
      const Expected expected[] = {{0, 1, 0x100}, {c.core_bits, c.cpus, 0x201}, {0, 0, 0x002}};
      for (std::uint32_t subleaf = 0; subleaf < 3; ++subleaf) {
        const auto entry = find(cpuid, function, subleaf);
        EXPECT_EQ(entry.flags, static_cast<std::uint32_t>(KVM_CPUID_FLAG_SIGNIFCANT_INDEX));
        EXPECT_EQ(entry.eax, expected[subleaf].eax) << "subleaf " << subleaf;
        EXPECT_EQ(entry.ebx, expected[subleaf].ebx) << "subleaf " << subleaf;
        EXPECT_EQ(entry.ecx, expected[subleaf].ecx) << "subleaf " << subleaf;
        EXPECT_EQ(entry.edx, c.index) << "subleaf " << subleaf;  // the x2APIC id, in every subleaf
      }
    }
  }
}

// The package id of every vCPU (x2APIC id >> the core level's shift) is the
// same: one package, as the MP table lists one set of CPUs.
TEST(CpuTopology, AllVcpusShareOnePackage) {
  const CpuTopology topology(12);
  for (unsigned index = 0; index < 12; ++index) {
    const auto core = find(topology.cpuid_for(host(), index), 0xb, 1);
    EXPECT_EQ(core.edx >> (core.eax & 0x1f), 0u);
  }
}

TEST(CpuTopology, LeavesTheHostDoesNotHaveAreNotAdded) {
  const auto cpuid = CpuTopology(4).cpuid_for(host(0xa), 1);  // highest basic leaf below 0xB
  EXPECT_EQ(find_all(cpuid, 0xb).size(), 3u);  // listed by the host: rewritten
  auto without = host(0xa);
  std::erase_if(without, [](const kvm_cpuid_entry2& entry) { return entry.function >= 0xb && entry.function < 0x20; });
  const auto rewritten = CpuTopology(4).cpuid_for(without, 1);
  EXPECT_TRUE(find_all(rewritten, 0xb).empty());
  EXPECT_TRUE(find_all(rewritten, 0x1f).empty());
  EXPECT_EQ(rewritten.size(), without.size());
}

TEST(CpuTopology, OtherLeavesPassThrough) {
  const auto cpuid = CpuTopology(8).cpuid_for(host(), 3);
  const auto vendor = find(cpuid, 0x0), extended = find(cpuid, 0x80000001);
  EXPECT_EQ(vendor.ebx, 0x756e6547u);
  EXPECT_EQ(extended.edx, 0x2c100800u);
}

TEST(CpuTopology, RejectsCountsCpuidCannotNumber) {
  EXPECT_THROW(CpuTopology(0), std::invalid_argument);
  EXPECT_THROW(CpuTopology(256), std::invalid_argument);
}

}  // namespace
}  // namespace vmm
