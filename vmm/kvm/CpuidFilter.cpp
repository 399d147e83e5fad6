#include "vmm/kvm/CpuidFilter.h"

#include <algorithm>
#include <stdexcept>

namespace vmm {

namespace {

using Register = CpuidFilter::Feature::Register;

// Intel SDM vol. 2A, CPUID; the names are Linux's (arch/x86/include/asm/cpufeatures.h).
constexpr CpuidFilter::Feature kFeatures[] = {
    {"pcid", 1, 0, Register::Ecx, 17},     {"x2apic", 1, 0, Register::Ecx, 21},
    {"popcnt", 1, 0, Register::Ecx, 23},   {"cx16", 1, 0, Register::Ecx, 13},
    {"xsave", 1, 0, Register::Ecx, 26},    {"osxsave", 1, 0, Register::Ecx, 27},
    {"avx", 1, 0, Register::Ecx, 28},      {"rdrand", 1, 0, Register::Ecx, 30},
    {"hypervisor", 1, 0, Register::Ecx, 31}, {"fsgsbase", 7, 0, Register::Ebx, 0},
    {"smep", 7, 0, Register::Ebx, 7},      {"avx2", 7, 0, Register::Ebx, 5},
    {"invpcid", 7, 0, Register::Ebx, 10},  {"rdseed", 7, 0, Register::Ebx, 18},
    {"smap", 7, 0, Register::Ebx, 20},     {"pku", 7, 0, Register::Ecx, 3},
};

constexpr std::uint32_t kHypervisorLeaves = 0x40000000;

std::uint32_t& field(kvm_cpuid_entry2& entry, Register reg) {
  switch (reg) {
    case Register::Eax: return entry.eax;
    case Register::Ebx: return entry.ebx;
    case Register::Ecx: return entry.ecx;
    case Register::Edx: break;
  }
  return entry.edx;
}

bool matches(const kvm_cpuid_entry2& entry, std::uint32_t leaf, std::uint32_t subleaf) {
  if (entry.function != leaf) return false;
  return !(entry.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || entry.index == subleaf;
}

}  // namespace

std::span<const CpuidFilter::Feature> CpuidFilter::features() { return kFeatures; }

const CpuidFilter::Feature* CpuidFilter::find(std::string_view name) {
  for (const auto& feature : kFeatures)
    if (feature.name == name) return &feature;
  return nullptr;
}

std::vector<kvm_cpuid_entry2> CpuidFilter::apply(std::vector<kvm_cpuid_entry2> entries) const {
  if (hide_hypervisor.value_or(false)) {
    std::erase_if(entries, [](const kvm_cpuid_entry2& entry) {
      return (entry.function & 0xffffff00) == kHypervisorLeaves;
    });
  }
  std::vector<const Feature*> cleared;
  for (const auto& name : clear) {
    const Feature* feature = find(name);
    if (!feature) throw std::invalid_argument("unknown CPU feature \"" + name + "\"");
    cleared.push_back(feature);
  }
  if (hide_hypervisor.value_or(false)) cleared.push_back(find("hypervisor"));
  for (auto& entry : entries)
    for (const Feature* feature : cleared)
      if (matches(entry, feature->leaf, feature->subleaf)) field(entry, feature->reg) &= ~(1u << feature->bit);
  return entries;
}

}  // namespace vmm
