#pragma once
// The CPU state a vCPU starts in, as firmware and the boot protocol leave it:
// CPUID for its place in the topology, the LAPIC's LINT pins wired as a PC BIOS
// wires them, and for the boot processor the mode and registers the loader's
// entry state promises. Application processors stay in KVM's reset state until
// the guest starts them with INIT-SIPI-SIPI.
//
// The rewrites of KVM's state structures are pure functions, so they are
// unit-tested without /dev/kvm.

#include <linux/kvm.h>

#include <memory>
#include <vector>

#include "vmm/kvm/CpuTopology.h"
#include "vmm/kvm/CpuidFilter.h"
#include "vmm/kvm/Kvm.h"
#include "vmm/kvm/Vcpu.h"
#include "vmm/kvm/VcpuStats.h"
#include "vmm/kvm/Vm.h"
#include "vmm/loader/EntryState.h"

namespace vmm {

// LINT0 takes the 8259 as ExtINT on the boot processor (masked on the others)
// and every LINT1 is NMI: without it KVM's PIC never reaches the CPU.
kvm_lapic_state with_bios_lint_wiring(kvm_lapic_state lapic, bool boot_processor);

// Segments and control registers for the entry mode, over KVM's reset state.
kvm_sregs with_entry_mode(kvm_sregs sregs, const EntryState& entry);

// The registers the boot protocol defines at entry; interrupts off.
kvm_regs entry_registers(const EntryState& entry);

// Applies all of the above to `vcpu` (its id decides whether it is the boot
// processor), with CPUID from `supported` rewritten for `topology` and
// filtered by `cpuid_filter`.
void set_up_vcpu(Vcpu& vcpu, const CpuTopology& topology, const CpuidFilter& cpuid_filter,
                 const std::vector<kvm_cpuid_entry2>& supported, const EntryState& entry);

struct Vcpus {
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  std::vector<VcpuStats> stats;  // one per vCPU; empty ones where KVM has no statistics fd
};

// `count` vCPUs of `vm`, each set up as above for one package of `count`
// single-thread cores (the CPUs of the MP table). Throws HostError where this
// host's KVM runs fewer.
Vcpus create_vcpus(const Kvm& kvm, const Vm& vm, unsigned count, const CpuidFilter& cpuid_filter,
                   const std::vector<kvm_cpuid_entry2>& supported, const EntryState& entry);

}  // namespace vmm
