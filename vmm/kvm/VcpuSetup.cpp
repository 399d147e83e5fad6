#include "vmm/kvm/VcpuSetup.h"

#include <cstring>

#include "vmm/Errors.h"
#include "vmm/kvm/ControlRegisters.h"
#include "vmm/kvm/Segments.h"
#include "vmm/kvm/Vcpu.h"

namespace vmm {

namespace {

// LAPIC register offsets and LVT delivery modes (Intel SDM vol. 3, 10.5.1).
constexpr std::size_t kLapicLvtLint0 = 0x350;
constexpr std::size_t kLapicLvtLint1 = 0x360;
constexpr std::uint32_t kLvtDeliveryModeMask = 0x700;
constexpr std::uint32_t kLvtMasked = 1u << 16;
constexpr std::uint32_t kDeliveryExtInt = 0x700;
constexpr std::uint32_t kDeliveryNmi = 0x400;

// RFLAGS with only the always-one bit 1: interrupts off, as every boot protocol enters.
constexpr std::uint64_t kRflagsReserved = 0x2;

// The GDT selectors of both protocols' flat code and data segments.
constexpr std::uint16_t kCodeSelector = 0x10;
constexpr std::uint16_t kDataSelector = 0x18;

std::uint32_t lapic_reg(const kvm_lapic_state& state, std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, &state.regs[offset], sizeof value);
  return value;
}

void set_lapic_reg(kvm_lapic_state& state, std::size_t offset, std::uint32_t value) {
  std::memcpy(&state.regs[offset], &value, sizeof value);
}

void set_lvt(kvm_lapic_state& state, std::size_t offset, std::uint32_t delivery_mode, bool masked) {
  std::uint32_t value = (lapic_reg(state, offset) & ~(kLvtDeliveryModeMask | kLvtMasked)) | delivery_mode;
  if (masked) value |= kLvtMasked;
  set_lapic_reg(state, offset, value);
}

}  // namespace

kvm_lapic_state with_bios_lint_wiring(kvm_lapic_state lapic, bool boot_processor) {
  set_lvt(lapic, kLapicLvtLint0, kDeliveryExtInt, !boot_processor);
  set_lvt(lapic, kLapicLvtLint1, kDeliveryNmi, false);
  return lapic;
}

kvm_sregs with_entry_mode(kvm_sregs sregs, const EntryState& entry) {
  using namespace x86;
  sregs.cs = x86::flat_segment(kCodeSelector, x86::kTypeCodeExecuteReadAccessed);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = x86::flat_segment(kDataSelector, x86::kTypeDataReadWriteAccessed);
  switch (entry.mode) {
    case EntryState::Mode::Protected32Flat:
      sregs.cr0 = (sregs.cr0 | kCr0Pe) & ~kCr0Pg;
      sregs.cr4 = 0;
      sregs.efer = 0;
      break;
    case EntryState::Mode::Long64:
      sregs.cs.l = 1;  // 64-bit code: L set, D clear
      sregs.cs.db = 0;
      sregs.cr0 = (sregs.cr0 | kCr0Pe | kCr0Pg) & ~(kCr0Cd | kCr0Nw);
      sregs.cr3 = entry.cr3;
      sregs.cr4 = kCr4Pae;
      sregs.efer = kEferLme | kEferLma;
      sregs.gdt.base = entry.gdt_base;
      sregs.gdt.limit = entry.gdt_limit;
      break;
  }
  return sregs;
}

kvm_regs entry_registers(const EntryState& entry) {
  kvm_regs regs{};
  regs.rflags = kRflagsReserved;
  regs.rip = entry.rip;
  regs.rax = entry.rax;
  regs.rbx = entry.rbx;
  regs.rsi = entry.rsi;
  return regs;
}

void set_up_vcpu(Vcpu& vcpu, const CpuTopology& topology, const CpuidFilter& cpuid_filter,
                 const std::vector<kvm_cpuid_entry2>& supported, const EntryState& entry) {
  const bool boot_processor = vcpu.id() == 0;
  vcpu.set_cpuid(cpuid_filter.apply(topology.cpuid_for(supported, vcpu.id())));
  vcpu.set_lapic(with_bios_lint_wiring(vcpu.lapic(), boot_processor));
  if (!boot_processor) return;
  vcpu.set_sregs(with_entry_mode(vcpu.sregs(), entry));
  vcpu.set_regs(entry_registers(entry));
}

Vcpus create_vcpus(const Kvm& kvm, const Vm& vm, unsigned count, const CpuidFilter& cpuid_filter,
                   const std::vector<kvm_cpuid_entry2>& supported, const EntryState& entry) {
  if (const unsigned limit = kvm.max_vcpus(); count > limit)
    throw HostError("this host's KVM runs at most " + std::to_string(limit) + " vCPUs in a VM (KVM_CAP_MAX_VCPUS), " +
                    std::to_string(count) + " were asked for; lower --vcpus or vcpus in the config");
  const bool have_stats = kvm.check_extension(KVM_CAP_BINARY_STATS_FD) > 0;
  const CpuTopology topology(count);
  Vcpus created;
  for (std::uint32_t id = 0; id < count; ++id) {
    auto vcpu = std::make_unique<Vcpu>(vm.fd(), id, kvm.vcpu_mmap_size());
    set_up_vcpu(*vcpu, topology, cpuid_filter, supported, entry);
    created.stats.push_back(have_stats ? VcpuStats(vcpu->open_stats()) : VcpuStats());
    created.vcpus.push_back(std::move(vcpu));
  }
  return created;
}

}  // namespace vmm
