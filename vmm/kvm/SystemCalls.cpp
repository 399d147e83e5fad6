#include "vmm/kvm/SystemCalls.h"

#include <cstring>

#include "vmm/kvm/Segments.h"

namespace vmm::x86 {

namespace {

constexpr std::uint8_t kInterruptGate = 14, kTrapGate = 15;

}  // namespace

bool is_canonical(std::uint64_t address) {
  const auto high = static_cast<std::int64_t>(address) >> 47;
  return high == 0 || high == -1;
}

bool is_half_done_syscall(const ExceptionFrame& frame, std::uint64_t cr2, std::uint64_t efer,
                          const SystemCallMsrs& msrs) {
  if (!(efer & kEferSce) || msrs.lstar == 0) return false;
  if (!(frame.error_code & kPfUser)) return false;
  if ((efer & kEferNxe) && !(frame.error_code & kPfFetch)) return false;
  if ((frame.cs & 3) != 3) return false;
  if (frame.rip != msrs.lstar || cr2 != msrs.lstar) return false;
  return (frame.rflags & ~kRflagsRf & msrs.fmask) == 0;
}

void complete_syscall(kvm_regs& regs, kvm_sregs& sregs, const ExceptionFrame& frame, const SystemCallMsrs& msrs) {
  const auto selector = static_cast<std::uint16_t>(msrs.star >> 32);
  sregs.cs = flat_segment(selector & 0xfffc, kTypeCodeExecuteReadAccessed);
  sregs.cs.l = 1;  // 64-bit code: L set, D clear
  sregs.cs.db = 0;
  sregs.ss = flat_segment(static_cast<std::uint16_t>(selector + 8), kTypeDataReadWriteAccessed);
  regs.rip = msrs.lstar;
  regs.rsp = frame.rsp;
  // Every instruction that completes clears RF; the #PF's delivery set it in the frame.
  regs.rflags = (frame.rflags & ~kRflagsRf) | kRflagsFixed;
}

std::optional<Fault> sysret(kvm_regs& regs, kvm_sregs& sregs, const SystemCallMsrs& msrs, bool operand64) {
  if (!(sregs.efer & kEferSce)) return Fault{kInvalidOpcode, 0};
  if (operand64 && !is_canonical(regs.rcx)) return Fault{kGeneralProtection, 0};
  const auto base = static_cast<std::uint16_t>(msrs.star >> 48);
  if (operand64) {
    regs.rip = regs.rcx;
    sregs.cs = flat_segment(static_cast<std::uint16_t>((base + 16) | 3), kTypeCodeExecuteReadAccessed, 3);
    sregs.cs.l = 1;
    sregs.cs.db = 0;
  } else {
    regs.rip = regs.rcx & 0xffffffff;
    sregs.cs = flat_segment(static_cast<std::uint16_t>(base | 3), kTypeCodeExecuteReadAccessed, 3);
  }
  regs.rflags = (regs.r11 & kSysretRflagsMask) | kRflagsFixed;
  // SS.Selector <- (IA32_STAR[63:48] + 8) OR 3; the SDM leaves SS's cached
  // descriptor flat, DPL 3, B = 1.
  sregs.ss = flat_segment(static_cast<std::uint16_t>((base + 8) | 3), kTypeDataReadWriteAccessed, 3);
  return std::nullopt;
}

void swapgs(kvm_sregs& sregs, SystemCallMsrs& msrs) {
  const std::uint64_t gs_base = sregs.gs.base;
  sregs.gs.base = msrs.kernel_gs_base;
  msrs.kernel_gs_base = gs_base;
}

std::optional<std::uint64_t> idt_gate_handler(const std::uint8_t (&gate)[16]) {
  const std::uint8_t attributes = gate[5];
  const std::uint8_t type = attributes & 0xf;
  if (!(attributes & 0x80) || (type != kInterruptGate && type != kTrapGate)) return std::nullopt;
  std::uint16_t low, middle;
  std::uint32_t high;
  std::memcpy(&low, gate, 2);
  std::memcpy(&middle, gate + 6, 2);
  std::memcpy(&high, gate + 8, 4);
  return std::uint64_t{low} | std::uint64_t{middle} << 16 | std::uint64_t{high} << 32;
}

}  // namespace vmm::x86
