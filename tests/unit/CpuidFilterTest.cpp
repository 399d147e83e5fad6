// CpuidFilter: the hypervisor's leaves and bit gone, named features cleared
// where they live (leaf, subleaf, register, bit), nothing else touched.

#include <gtest/gtest.h>

#include <vector>

#include "vmm/kvm/CpuidFilter.h"

namespace vmm {
namespace {

kvm_cpuid_entry2 leaf(std::uint32_t function, std::uint32_t index, std::uint32_t value, bool indexed = false) {
  kvm_cpuid_entry2 entry{};
  entry.function = function;
  entry.index = index;
  entry.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
  entry.eax = entry.ebx = entry.ecx = entry.edx = value;
  return entry;
}

const kvm_cpuid_entry2* find(const std::vector<kvm_cpuid_entry2>& entries, std::uint32_t function, std::uint32_t index) {
  for (const auto& entry : entries)
    if (entry.function == function && entry.index == index) return &entry;
  return nullptr;
}

std::vector<kvm_cpuid_entry2> host() {
  return {leaf(0, 0, 0xd), leaf(1, 0, 0xffffffff), leaf(7, 0, 0xffffffff, true), leaf(7, 1, 0xffffffff, true),
          leaf(0x40000000, 0, 0x4b4d564b), leaf(0x40000001, 0, 0x1ff), leaf(0x80000001, 0, 0xffffffff)};
}

TEST(CpuidFilter, AnEmptyFilterChangesNothing) {
  const auto entries = CpuidFilter{}.apply(host());
  ASSERT_EQ(entries.size(), host().size());
  EXPECT_EQ(find(entries, 1, 0)->ecx, 0xffffffffu);
  EXPECT_EQ(find(entries, 0x40000000, 0)->ebx, 0x4b4d564bu);
}

TEST(CpuidFilter, HidingTheHypervisorRemovesItsLeavesAndItsBit) {
  CpuidFilter filter;
  filter.hide_hypervisor = true;
  const auto entries = filter.apply(host());
  EXPECT_EQ(find(entries, 0x40000000, 0), nullptr);
  EXPECT_EQ(find(entries, 0x40000001, 0), nullptr);
  EXPECT_EQ(find(entries, 1, 0)->ecx, 0x7fffffffu);
  EXPECT_EQ(find(entries, 0x80000001, 0)->ecx, 0xffffffffu);
}

TEST(CpuidFilter, EachFeatureIsClearedWhereItLives) {
  for (const auto& feature : CpuidFilter::features()) {
    SCOPED_TRACE(std::string(feature.name));
    CpuidFilter filter;
    filter.clear = {std::string(feature.name)};
    const auto entries = filter.apply(host());
    for (const auto& entry : entries) {
      const bool target = entry.function == feature.leaf && entry.index == feature.subleaf;
      const std::uint32_t values[] = {entry.eax, entry.ebx, entry.ecx, entry.edx};
      for (unsigned reg = 0; reg < 4; ++reg) {
        const std::uint32_t expected = entry.function == 0x40000000   ? 0x4b4d564bu
                                       : entry.function == 0x40000001 ? 0x1ffu
                                       : entry.function == 0          ? 0xdu
                                                                      : 0xffffffffu;
        const bool cleared_here = target && reg == static_cast<unsigned>(feature.reg);
        EXPECT_EQ(values[reg], cleared_here ? expected & ~(1u << feature.bit) : expected)
            << "leaf " << entry.function << "." << entry.index << " register " << reg;
      }
    }
  }
}

TEST(CpuidFilter, AnUnknownNameIsRefused) {
  CpuidFilter filter;
  filter.clear = {"turbo"};
  EXPECT_THROW(filter.apply(host()), std::invalid_argument);
  EXPECT_EQ(CpuidFilter::find("turbo"), nullptr);
  ASSERT_NE(CpuidFilter::find("popcnt"), nullptr);
  EXPECT_EQ(CpuidFilter::find("popcnt")->bit, 23u);
}

}  // namespace
}  // namespace vmm
