#pragma once
// What a guest is not to see in CPUID: the hypervisor's signature (leaves
// 0x40000000-0x400000FF and CPUID.1:ECX[31]), so that a Linux guest uses our
// PIT and runs its own timer checks instead of trusting kvmclock, and
// features by name, so that a kernel's alternatives do not patch in
// instructions the host cannot run for it (on this project's hosts, ring 0
// runs in KVM's instruction emulator, which lacks popcnt, cmpxchg16b,
// xsave/xrstor, clac/stac). A pure rewrite of the vCPU's CPUID entries.

#include <linux/kvm.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vmm {

struct CpuidFilter {
  // Unset: the machine decides (on for a Linux kernel, off for Multiboot ones).
  std::optional<bool> hide_hypervisor;
  std::vector<std::string> clear;  // feature names, from features()

  struct Feature {
    std::string_view name;
    std::uint32_t leaf, subleaf;
    enum class Register { Eax, Ebx, Ecx, Edx } reg;
    unsigned bit;
  };
  // The features that can be cleared, by their /proc/cpuinfo names.
  static std::span<const Feature> features();
  static const Feature* find(std::string_view name);

  bool empty() const { return !hide_hypervisor.value_or(false) && clear.empty(); }
  // `entries` without what this filter hides. Names must come from features()
  // (the config checks them); an unknown one throws std::invalid_argument.
  std::vector<kvm_cpuid_entry2> apply(std::vector<kvm_cpuid_entry2> entries) const;
};

}  // namespace vmm
