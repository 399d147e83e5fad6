#pragma once
// What vmm does when KVM's instruction emulator gives up on an instruction
// the guest needs. On hosts where guest ring 0 runs in that emulator (nested
// kvm_pvm), it stops with KVM_EXIT_INTERNAL_ERROR (emulation failure, the
// instruction's bytes given) on instructions that hardware virtualization
// runs natively, so none of this fires there. The table is small on purpose:
// each entry does what the CPU would have done, exactly.
//
//   int3   (CC) at CPL 0: RIP past it, then #BP injected, as a trap: the
//          guest's handler sees the return address after the int3.
//   fwait  (9B) at CPL 0: RIP past it. It only waits for, or raises, a
//          pending unmasked x87 exception; a kernel that keeps no x87 state
//          pending in ring 0 (Linux's fpu__drop, our kernel) has none.
//   ldmxcsr m32 (0F AE /2) and stmxcsr m32 (0F AE /3) at CPL 0 in 64-bit
//          code (Linux's kernel_fpu_begin): MXCSR loaded from or stored to
//          the operand through KVM_GET/SET_FPU, RIP past it; a value with
//          reserved bits set raises #GP(0) as the CPU would. Only REX may
//          prefix them; anything else stays a failure.
//   int n  (CD ib) at CPL 0 in protected or long mode (interrupt and
//          exception tests; the emulator carries out int n in real mode
//          only): RIP past it, then vector n delivered through its IDT gate
//          with no error code, so the handler sees the return address after
//          the instruction. The gate's DPL check that sets a software
//          interrupt apart cannot fail at CPL 0 (every DPL is >= 0), which is
//          why the vector goes in as an event KVM delivers the same way on
//          every host (see VcpuRunner::apply_emulation_fixup).
//   sysret ([REX] 0F 07) and swapgs (0F 01 F8) at CPL 0 in 64-bit code
//          (Linux's return to user space): as the SDM's Operation sections
//          say, in vmm/kvm/SystemCalls.h; sysretq's non-canonical RCX raises
//          #GP(0) at the instruction.
//   lsl    ([66] [REX] 0F 03 /r, register source) at CPL 0 in 64-bit code
//          (Linux reads its CPU number with it, in the NMI's paranoid entry):
//          the limit of the descriptor the source selects, ZF set, or ZF
//          clear and the destination unchanged, as vmm/kvm/SegmentLimit.h
//          says. A memory source stays a failure.
//   syscall is no instruction of this table: the host carries out SYSCALL
//          but for its switch to ring 0, and vmm completes it where the guest's
//          #PF handler is entered (vmm/kvm/SyscallCompletion.h). It is counted
//          here, beside the others.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace vmm {

struct EmulationFixup {
  enum class Kind : unsigned { Int3, Fwait, Ldmxcsr, Stmxcsr, IntN, Sysret, Swapgs, Syscall, Lsl };
  static constexpr unsigned kKinds = 9;

  // A ModRM memory operand in 64-bit code: base + index * scale + displacement,
  // or RIP-relative (the RIP after the instruction). Registers are numbered
  // as the encoding numbers them (0 rax, 1 rcx, ... 4 rsp, ... 15 r15).
  struct MemoryOperand {
    std::optional<unsigned> base, index;
    unsigned scale = 1;
    std::int64_t displacement = 0;
    bool rip_relative = false;
  };

  Kind kind;
  std::string_view instruction;  // its mnemonic, for the report and the stats
  unsigned length;               // bytes RIP moves past it
  std::optional<std::uint8_t> exception;  // the vector to inject afterwards, if any
  std::optional<MemoryOperand> operand;   // ldmxcsr, stmxcsr
  std::optional<std::uint8_t> software_interrupt;  // int n: the vector n
  bool operand64 = false;                          // sysret with REX.W: sysretq
  // lsl: its registers, numbered as above, and its operand size (2, 4 or 8).
  unsigned destination_register = 0, source_register = 0, operand_bytes = 0;

  // The fix-up for an emulation failure on `instruction_bytes` at `cpl`, in
  // 64-bit code or not; none when the table has no entry (the failure stays
  // a guest crash).
  static std::optional<EmulationFixup> find(std::span<const std::uint8_t> instruction_bytes, unsigned cpl,
                                            bool code64 = false);
  // MXCSR bits a load may not set (#GP): 16-31. Bit 6 (DAZ) every x86-64 CPU has.
  static constexpr std::uint32_t kMxcsrReserved = 0xffff0000u;
  static std::string_view name(Kind kind);
};

}  // namespace vmm
