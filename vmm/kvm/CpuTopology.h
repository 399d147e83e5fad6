#pragma once
// The CPU topology every vCPU reports through CPUID, made to agree with the MP
// table: one package of N cores with one thread each, vCPU i having APIC id i
// (which is KVM's LAPIC id for vCPU i). A pure rewrite of KVM's supported
// CPUID, so it is unit-tested without KVM. Intel's leaves (SDM vol. 2A, CPUID):
//   leaf 1     EBX[31:24] initial APIC id, EBX[23:16] addressable logical
//              processor ids in the package, EDX[28] HTT;
//   leaf 4     EAX[31:26] cores in the package - 1, EAX[25:14] logical
//              processors sharing the cache - 1, on every cache subleaf;
//   leaf 0xB   (and 0x1F) subleaf 0 the SMT level, 1 the core level, 2 the
//              invalid level that ends the list; EDX the x2APIC id.
// Not rewritten: AMD's leaves (0x8000_0008 ECX, 0x8000_001E), which describe
// the same on AMD hosts.

#include <linux/kvm.h>

#include <vector>

namespace vmm {

class CpuTopology {
 public:
  // Throws std::invalid_argument for 0 CPUs or more than the 8-bit APIC id
  // field of leaf 1 can number.
  explicit CpuTopology(unsigned cpus);

  unsigned cpus() const { return cpus_; }
  // Bits of the APIC id below the package id: ceil(log2(cpus)).
  unsigned core_id_bits() const { return core_id_bits_; }

  // `supported` (KVM_GET_SUPPORTED_CPUID) as vCPU `index` must see it.
  std::vector<kvm_cpuid_entry2> cpuid_for(const std::vector<kvm_cpuid_entry2>& supported, unsigned index) const;

 private:
  unsigned cpus_;
  unsigned core_id_bits_ = 0;
};

}  // namespace vmm
