#pragma once
// SYSCALL and SYSRET as the Intel SDM defines them (vol. 2B, "SYSCALL" and
// "SYSRET" Operation; vol. 3A 5.8.8), and SWAPGS, for the hosts whose KVM
// leaves them half done or undone (nested kvm_pvm, where guest ring 0 runs in
// KVM's instruction emulator):
//
//   SYSCALL from ring 3: the host loads RIP from IA32_LSTAR, saves RCX and R11
//     and masks RFLAGS with IA32_FMASK, but leaves CS and SS at the user's.
//     The fetch at LSTAR then faults (#PF, a user access to a supervisor
//     page) and the guest's #PF handler is entered with that frame on its
//     kernel stack. complete_syscall() turns that state into the one the
//     SYSCALL would have left: ring 0 at LSTAR, the user's RSP, the frame gone.
//   SYSRET and SWAPGS: the emulator has neither; they are carried out here.
//
// Pure: the state goes in and comes out, so each rule is unit-tested against
// the SDM's pseudocode with no vCPU (SystemCallsTest).

#include <linux/kvm.h>

#include <cstdint>
#include <optional>

namespace vmm::x86 {

constexpr std::uint32_t kMsrEfer = 0xC0000080, kMsrStar = 0xC0000081, kMsrLstar = 0xC0000082,
                        kMsrFmask = 0xC0000084, kMsrKernelGsBase = 0xC0000102;
constexpr std::uint64_t kEferSce = 1ull << 0, kEferNxe = 1ull << 11;
constexpr std::uint64_t kRflagsFixed = 1ull << 1, kRflagsRf = 1ull << 16;
// The RFLAGS bits SYSRET may load from R11 (SDM: R11 AND 3C7FD7H).
constexpr std::uint64_t kSysretRflagsMask = 0x3C7FD7;
constexpr std::uint8_t kGeneralProtection = 13, kInvalidOpcode = 6;

// #PF error code bits (SDM vol. 3A, 4.7).
constexpr std::uint32_t kPfPresent = 1u << 0, kPfUser = 1u << 2, kPfFetch = 1u << 4;

struct Fault {
  std::uint8_t vector;
  std::uint32_t error_code;
};

// The MSRs these instructions read or write.
struct SystemCallMsrs {
  std::uint64_t star = 0, lstar = 0, fmask = 0, kernel_gs_base = 0;
};

// What a 64-bit interrupt or exception with an error code pushes (SDM vol.
// 3A, 6.14.2), read from the handler's RSP upwards.
struct ExceptionFrame {
  std::uint64_t error_code = 0, rip = 0, cs = 0, rflags = 0, rsp = 0, ss = 0;
};

// True when the #PF whose frame is `frame` and whose CR2 is `cr2` is exactly
// a SYSCALL from ring 3 that the host left in ring 3: the fault is a user
// access (error code) at IA32_LSTAR (RIP and CR2 both), from a user CS, and
// the RFLAGS it interrupted have every IA32_FMASK bit clear, which ring 3 cannot
// arrange by itself (IF) and a plain jump to LSTAR does not do. With EFER.NXE
// the fault must be an instruction fetch too.
bool is_half_done_syscall(const ExceptionFrame& frame, std::uint64_t cr2, std::uint64_t efer,
                          const SystemCallMsrs& msrs);

// Completes it: CS and SS from IA32_STAR[47:32] (flat, DPL 0, CS 64-bit), RIP
// = LSTAR, RSP the user's again (the frame is dropped), RFLAGS as the SYSCALL
// left them (the frame's, less the RF the fault delivery set). RCX and R11
// stay as the host saved them. CR2 keeps the fault's address: the value it
// had before cannot be known.
void complete_syscall(kvm_regs& regs, kvm_sregs& sregs, const ExceptionFrame& frame, const SystemCallMsrs& msrs);

// SYSRET at CPL 0 in 64-bit mode: with REX.W (SYSRETQ) RIP = RCX, which must
// be canonical (#GP(0) otherwise, state untouched); without, RIP = ECX and a
// 32-bit CS. RFLAGS from R11, CS and SS from IA32_STAR[63:48] with RPL 3.
// #UD when EFER.SCE is clear.
std::optional<Fault> sysret(kvm_regs& regs, kvm_sregs& sregs, const SystemCallMsrs& msrs, bool operand64);

// SWAPGS at CPL 0 in 64-bit mode: GS.base and IA32_KERNEL_GS_BASE exchanged.
void swapgs(kvm_sregs& sregs, SystemCallMsrs& msrs);

// The 64-bit handler offset of a long-mode IDT gate (SDM vol. 3A, 6.14.1); none
// when the gate is not present or is not an interrupt or trap gate.
std::optional<std::uint64_t> idt_gate_handler(const std::uint8_t (&gate)[16]);

bool is_canonical(std::uint64_t address);

}  // namespace vmm::x86
