// The CPU state vmm gives a vCPU before its first instruction: what a PC BIOS
// leaves in the LAPIC's LINT pins (Intel SDM vol. 3, 10.5.1) and what each
// boot protocol promises at entry.
#include <gtest/gtest.h>

#include <cstring>

#include "vmm/kvm/ControlRegisters.h"
#include "vmm/kvm/VcpuSetup.h"

namespace vmm {
namespace {

constexpr std::size_t kLint0 = 0x350, kLint1 = 0x360;

std::uint32_t reg(const kvm_lapic_state& state, std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, &state.regs[offset], sizeof value);
  return value;
}

kvm_lapic_state lapic_with(std::uint32_t lint0, std::uint32_t lint1) {
  kvm_lapic_state state{};
  std::memcpy(&state.regs[kLint0], &lint0, sizeof lint0);
  std::memcpy(&state.regs[kLint1], &lint1, sizeof lint1);
  return state;
}

TEST(VcpuSetup, BootProcessorTakesThePicOnLint0AndNmiOnLint1) {
  // KVM's reset state: both masked, fixed delivery.
  const auto state = with_bios_lint_wiring(lapic_with(0x10000, 0x10000), true);
  EXPECT_EQ(reg(state, kLint0), 0x700u);  // ExtINT, unmasked
  EXPECT_EQ(reg(state, kLint1), 0x400u);  // NMI, unmasked
}

TEST(VcpuSetup, ApplicationProcessorsKeepLint0MaskedAndTakeNmi) {
  const auto state = with_bios_lint_wiring(lapic_with(0, 0), false);
  EXPECT_EQ(reg(state, kLint0), 0x10700u);
  EXPECT_EQ(reg(state, kLint1), 0x400u);
}

TEST(VcpuSetup, LintWiringKeepsTheOtherLvtBits) {
  // Vector, trigger and polarity bits are the guest's to set; only the
  // delivery mode and the mask are the BIOS's.
  const auto state = with_bios_lint_wiring(lapic_with(0x1a0ff, 0x0a0ff), true);
  EXPECT_EQ(reg(state, kLint0), 0x0a7ffu);
  EXPECT_EQ(reg(state, kLint1), 0x0a4ffu);
}

TEST(VcpuSetup, MultibootEntersFlatProtectedModeWithoutPaging) {
  kvm_sregs reset{};
  reset.cr0 = 0x60000010 | x86::kCr0Pg;
  reset.cr4 = x86::kCr4Pae;
  reset.efer = x86::kEferLme;
  const auto sregs = with_entry_mode(reset, EntryState{.mode = EntryState::Mode::Protected32Flat});
  EXPECT_EQ(sregs.cr0 & (x86::kCr0Pe | x86::kCr0Pg), x86::kCr0Pe);
  EXPECT_EQ(sregs.cr4, 0u);
  EXPECT_EQ(sregs.efer, 0u);
  EXPECT_EQ(sregs.cs.selector, 0x10);
  EXPECT_EQ(sregs.cs.limit, 0xffffffffu);
  EXPECT_EQ(sregs.cs.db, 1);
  EXPECT_EQ(sregs.cs.l, 0);
  for (const kvm_segment* data : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
    EXPECT_EQ(data->selector, 0x18);
    EXPECT_EQ(data->base, 0u);
    EXPECT_EQ(data->type, 0x3);
  }
}

TEST(VcpuSetup, LinuxEntersLongModeWithTheLoadersTablesAndCachesOn) {
  kvm_sregs reset{};
  reset.cr0 = 0x60000010;  // KVM's reset CR0: CD and NW set
  const EntryState entry{.protocol = EntryState::Protocol::Linux,
                         .mode = EntryState::Mode::Long64,
                         .cr3 = 0x9000,
                         .gdt_base = 0x500,
                         .gdt_limit = 0x27};
  const auto sregs = with_entry_mode(reset, entry);
  EXPECT_EQ(sregs.cr0 & (x86::kCr0Pe | x86::kCr0Pg | x86::kCr0Cd | x86::kCr0Nw), x86::kCr0Pe | x86::kCr0Pg);
  EXPECT_EQ(sregs.cr3, 0x9000u);
  EXPECT_EQ(sregs.cr4, x86::kCr4Pae);
  EXPECT_EQ(sregs.efer, x86::kEferLme | x86::kEferLma);
  EXPECT_EQ(sregs.cs.l, 1);
  EXPECT_EQ(sregs.cs.db, 0);
  EXPECT_EQ(sregs.gdt.base, 0x500u);
  EXPECT_EQ(sregs.gdt.limit, 0x27);
}

TEST(VcpuSetup, EntryRegistersAreTheProtocolsWithInterruptsOff) {
  const auto regs = entry_registers(EntryState{.rip = 0x100000, .rax = 0x2BADB002, .rbx = 0x9500, .rsi = 0x7000});
  EXPECT_EQ(regs.rip, 0x100000u);
  EXPECT_EQ(regs.rax, 0x2BADB002u);
  EXPECT_EQ(regs.rbx, 0x9500u);
  EXPECT_EQ(regs.rsi, 0x7000u);
  EXPECT_EQ(regs.rflags, 0x2u);
  EXPECT_EQ(regs.rsp, 0u);
}

}  // namespace
}  // namespace vmm
