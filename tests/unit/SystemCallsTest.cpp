// SYSCALL's completion, SYSRET and SWAPGS against the Operation sections of
// the Intel SDM (vol. 2B), and the sharing of KVM's guest debug between the
// debugger and the SYSCALL fix-up.

#include <gtest/gtest.h>

#include "vmm/kvm/GuestDebug.h"
#include "vmm/kvm/SystemCalls.h"

namespace vmm::x86 {
namespace {

// Linux's syscall_init(): STAR[63:48] = __USER32_CS (0x23), STAR[47:32] = __KERNEL_CS (0x10).
constexpr std::uint64_t kStar = 0x0023001000000000ull;
constexpr std::uint64_t kLstar = 0xffffffff81c00080ull;
// X86_EFLAGS_{CF,PF,AF,ZF,SF,TF,IF,DF,OF,IOPL,NT,RF,AC,ID}.
constexpr std::uint64_t kLinuxFmask = 0x257fd5;
constexpr std::uint64_t kEfer = kEferSce | (1ull << 8) | (1ull << 10) | kEferNxe;

// What the host leaves on the #PF handler's stack after a half-done SYSCALL
// from init (measured: error 0x15, CS 0x33, the user's RSP and SS 0x2b).
ExceptionFrame half_done() {
  return ExceptionFrame{.error_code = kPfPresent | kPfUser | kPfFetch,
                        .rip = kLstar,
                        .cs = 0x33,
                        .rflags = kRflagsRf | kRflagsFixed,
                        .rsp = 0x7ffc12345670,
                        .ss = 0x2b};
}

TEST(SystemCalls, AHalfDoneSyscallIsRecognisedExactly) {
  const SystemCallMsrs msrs{.star = kStar, .lstar = kLstar, .fmask = kLinuxFmask};
  struct Row {
    const char* what;
    void (*change)(ExceptionFrame&, std::uint64_t& cr2, std::uint64_t& efer);
    bool expected;
  };
  const Row rows[] = {
      {"the host's half-done SYSCALL", [](ExceptionFrame&, std::uint64_t&, std::uint64_t&) {}, true},
      {"a supervisor-mode fault", [](ExceptionFrame& f, std::uint64_t&, std::uint64_t&) { f.error_code = 0x11; },
       false},
      {"from a kernel CS", [](ExceptionFrame& f, std::uint64_t&, std::uint64_t&) { f.cs = 0x10; }, false},
      {"at another RIP", [](ExceptionFrame& f, std::uint64_t&, std::uint64_t&) { f.rip += 1; }, false},
      {"CR2 elsewhere (a data fault at LSTAR's RIP)",
       [](ExceptionFrame&, std::uint64_t& cr2, std::uint64_t&) { cr2 = 0x1000; }, false},
      {"IF set: a jump to LSTAR from ring 3, not a SYSCALL",
       [](ExceptionFrame& f, std::uint64_t&, std::uint64_t&) { f.rflags |= 1u << 9; }, false},
      {"with EFER.NXE, a fault that is no fetch",
       [](ExceptionFrame& f, std::uint64_t&, std::uint64_t&) { f.error_code = kPfPresent | kPfUser; }, false},
      {"without EFER.NXE, a fetch fault has no I/D bit",
       [](ExceptionFrame& f, std::uint64_t&, std::uint64_t& efer) {
         f.error_code = kPfPresent | kPfUser;
         efer &= ~kEferNxe;
       },
       true},
      {"SYSCALL disabled (EFER.SCE clear)",
       [](ExceptionFrame&, std::uint64_t&, std::uint64_t& efer) { efer &= ~kEferSce; }, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    ExceptionFrame frame = half_done();
    std::uint64_t cr2 = kLstar, efer = kEfer;
    row.change(frame, cr2, efer);
    EXPECT_EQ(is_half_done_syscall(frame, cr2, efer, msrs), row.expected);
  }
  EXPECT_FALSE(is_half_done_syscall(half_done(), kLstar, kEfer, SystemCallMsrs{.star = kStar, .lstar = 0}))
      << "no LSTAR, no SYSCALL";
}

TEST(SystemCalls, CompletingASyscallLeavesWhatTheSdmsSyscallLeaves) {
  const SystemCallMsrs msrs{.star = kStar | 3ull << 32, .lstar = kLstar, .fmask = kLinuxFmask};
  kvm_regs regs{};
  kvm_sregs sregs{};
  regs.rip = kLstar;
  regs.rsp = 0xfffffe0000001fd8;  // the frame on the kernel stack
  regs.rcx = 0x401234;            // the user RIP after the syscall, saved by the host
  regs.r11 = 0x246;               // the user RFLAGS, saved by the host
  regs.rflags = 0x2;
  sregs.cs.selector = 0x10;  // the #PF delivery's CS
  complete_syscall(regs, sregs, half_done(), msrs);
  // CS.Selector <- IA32_STAR[47:32] AND FFFCH; flat 64-bit code, DPL 0.
  EXPECT_EQ(sregs.cs.selector, 0x10);
  EXPECT_EQ(sregs.cs.base, 0u);
  EXPECT_EQ(sregs.cs.limit, 0xffffffffu);
  EXPECT_EQ(sregs.cs.type, 11);
  EXPECT_EQ(sregs.cs.dpl, 0);
  EXPECT_EQ(sregs.cs.l, 1);
  EXPECT_EQ(sregs.cs.db, 0);
  EXPECT_EQ(sregs.cs.s, 1);
  EXPECT_EQ(sregs.cs.present, 1);
  EXPECT_EQ(sregs.cs.g, 1);
  // SS.Selector <- IA32_STAR[47:32] + 8; flat data, DPL 0, B 1.
  EXPECT_EQ(sregs.ss.selector, 0x1b);
  EXPECT_EQ(sregs.ss.type, 3);
  EXPECT_EQ(sregs.ss.dpl, 0);
  EXPECT_EQ(sregs.ss.db, 1);
  EXPECT_EQ(regs.rip, kLstar);
  EXPECT_EQ(regs.rsp, 0x7ffc12345670u) << "SYSCALL does not touch RSP: the user's, the frame dropped";
  EXPECT_EQ(regs.rflags, 0x2u) << "the FMASK'd flags, without the RF the fault set";
  EXPECT_EQ(regs.rcx, 0x401234u);
  EXPECT_EQ(regs.r11, 0x246u);
}

TEST(SystemCalls, SysretAsTheSdmsOperation) {
  const SystemCallMsrs msrs{.star = kStar};
  kvm_regs regs{};
  kvm_sregs sregs{};
  sregs.efer = kEfer;
  regs.rcx = 0x401236;
  regs.r11 = 0xffffffffffffffff;  // every bit: only 3C7FD7H may load, bit 1 reads as one
  ASSERT_EQ(sysret(regs, sregs, msrs, true), std::nullopt);
  EXPECT_EQ(regs.rip, 0x401236u);
  EXPECT_EQ(regs.rflags, 0x3C7FD7u | 2);
  // CS.Selector <- (IA32_STAR[63:48] + 16) OR 3: Linux's __USER_CS 0x33.
  EXPECT_EQ(sregs.cs.selector, 0x33);
  EXPECT_EQ(sregs.cs.dpl, 3);
  EXPECT_EQ(sregs.cs.l, 1);
  EXPECT_EQ(sregs.cs.db, 0);
  EXPECT_EQ(sregs.cs.type, 11);
  // SS.Selector <- (IA32_STAR[63:48] + 8) OR 3: __USER_DS 0x2b.
  EXPECT_EQ(sregs.ss.selector, 0x2b);
  EXPECT_EQ(sregs.ss.dpl, 3);
  EXPECT_EQ(sregs.ss.db, 1);
  EXPECT_EQ(sregs.ss.type, 3);

  // Compatibility mode: CS.Selector <- IA32_STAR[63:48] OR 3, 32-bit, RIP <- ECX.
  regs.rcx = 0xdead0000'08049000;
  regs.r11 = 0x202;
  ASSERT_EQ(sysret(regs, sregs, msrs, false), std::nullopt);
  EXPECT_EQ(regs.rip, 0x08049000u);
  EXPECT_EQ(sregs.cs.selector, 0x23);
  EXPECT_EQ(sregs.cs.l, 0);
  EXPECT_EQ(sregs.cs.db, 1);
  EXPECT_EQ(regs.rflags, 0x202u);
}

TEST(SystemCalls, SysretFaultsLeaveTheStateAlone) {
  kvm_regs regs{};
  kvm_sregs sregs{};
  sregs.efer = kEfer;
  sregs.cs.selector = 0x10;
  regs.rip = 0xffffffff81c001a0;
  regs.rcx = 0x0000800000000000;  // the first non-canonical address
  const kvm_regs before = regs;
  const auto fault = sysret(regs, sregs, SystemCallMsrs{.star = kStar}, true);
  ASSERT_TRUE(fault.has_value());
  EXPECT_EQ(fault->vector, kGeneralProtection);
  EXPECT_EQ(fault->error_code, 0u);
  EXPECT_EQ(regs.rip, before.rip);
  EXPECT_EQ(sregs.cs.selector, 0x10);
  // SYSRETL takes ECX: no canonical check.
  EXPECT_EQ(sysret(regs, sregs, SystemCallMsrs{.star = kStar}, false), std::nullopt);

  sregs.efer &= ~kEferSce;
  const auto disabled = sysret(regs, sregs, SystemCallMsrs{.star = kStar}, true);
  ASSERT_TRUE(disabled.has_value());
  EXPECT_EQ(disabled->vector, kInvalidOpcode);
}

TEST(SystemCalls, CanonicalAddresses) {
  EXPECT_TRUE(is_canonical(0));
  EXPECT_TRUE(is_canonical(0x00007fffffffffff));
  EXPECT_FALSE(is_canonical(0x0000800000000000));
  EXPECT_FALSE(is_canonical(0xffff7fffffffffff));
  EXPECT_TRUE(is_canonical(0xffff800000000000));
  EXPECT_TRUE(is_canonical(0xffffffffffffffff));
}

TEST(SystemCalls, SwapgsExchangesGsBaseAndKernelGsBase) {
  kvm_sregs sregs{};
  sregs.gs.base = 0x7f0000001000;  // the user's
  SystemCallMsrs msrs{.kernel_gs_base = 0xffff88807dc00000};
  swapgs(sregs, msrs);
  EXPECT_EQ(sregs.gs.base, 0xffff88807dc00000u);
  EXPECT_EQ(msrs.kernel_gs_base, 0x7f0000001000u);
  swapgs(sregs, msrs);
  EXPECT_EQ(sregs.gs.base, 0x7f0000001000u);
}

TEST(SystemCalls, IdtGateHandlers) {
  // asm_exc_page_fault at 0xffffffff81a01230: an interrupt gate, DPL 0, present.
  const std::uint8_t gate[16] = {0x30, 0x12, 0x10, 0x00, 0x00, 0x8e, 0xa0, 0x81,
                                 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  EXPECT_EQ(idt_gate_handler(gate), 0xffffffff81a01230u);
  std::uint8_t trap[16];
  std::copy(std::begin(gate), std::end(gate), trap);
  trap[5] = 0x8f;
  EXPECT_EQ(idt_gate_handler(trap), 0xffffffff81a01230u);
  std::uint8_t absent[16];
  std::copy(std::begin(gate), std::end(gate), absent);
  absent[5] = 0x0e;
  EXPECT_EQ(idt_gate_handler(absent), std::nullopt);
  std::uint8_t call_gate[16];
  std::copy(std::begin(gate), std::end(gate), call_gate);
  call_gate[5] = 0x8c;
  EXPECT_EQ(idt_gate_handler(call_gate), std::nullopt);
}

}  // namespace
}  // namespace vmm::x86

namespace vmm {
namespace {

TEST(GuestDebug, TheFixupKeepsSlotThreeAndTheDebuggerTheRest) {
  kvm_guest_debug debugger{};
  debugger.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP;
  debugger.arch.debugreg[0] = 0xffffffff81000000;
  debugger.arch.debugreg[7] = 0x602;  // G0, execute
  const FixupDebug fixup{.breakpoint = 0xffffffff81a01230, .step = false};

  const kvm_guest_debug both = merge_guest_debug(debugger, fixup);
  EXPECT_EQ(both.control, debugger.control);
  EXPECT_EQ(both.arch.debugreg[0], 0xffffffff81000000u);
  EXPECT_EQ(both.arch.debugreg[3], 0xffffffff81a01230u);
  EXPECT_EQ(both.arch.debugreg[7], 0x602u | 0x80u) << "G0 and G3, both execute, length 1";

  const kvm_guest_debug fixup_only = merge_guest_debug(kvm_guest_debug{}, fixup);
  EXPECT_EQ(fixup_only.control, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP);
  EXPECT_EQ(fixup_only.arch.debugreg[7], 0x680u);

  const kvm_guest_debug debugger_only = merge_guest_debug(debugger, FixupDebug{});
  EXPECT_EQ(debugger_only.arch.debugreg[7], 0x602u);
  EXPECT_EQ(debugger_only.arch.debugreg[3], 0u);

  // Slot 3 is the fix-up's even if a debugger wrote to it.
  kvm_guest_debug greedy = debugger;
  greedy.arch.debugreg[3] = 0x1000;
  greedy.arch.debugreg[7] |= 0xd00000c0;  // G3/L3, write, 4 bytes
  const kvm_guest_debug taken = merge_guest_debug(greedy, fixup);
  EXPECT_EQ(taken.arch.debugreg[3], 0xffffffff81a01230u);
  EXPECT_EQ(taken.arch.debugreg[7], 0x602u | 0x80u);

  // Stepping over the #PF handler: the breakpoint lifted, one single-step.
  const kvm_guest_debug step = merge_guest_debug(kvm_guest_debug{}, FixupDebug{.breakpoint = std::nullopt, .step = true});
  EXPECT_EQ(step.control, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP);
  EXPECT_EQ(step.arch.debugreg[7], 0u);

  EXPECT_EQ(merge_guest_debug(kvm_guest_debug{}, FixupDebug{}).control, 0u) << "nothing asked: off";
}

}  // namespace
}  // namespace vmm
