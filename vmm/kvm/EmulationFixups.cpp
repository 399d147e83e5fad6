#include "vmm/kvm/EmulationFixups.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace vmm {

namespace {

constexpr std::uint8_t kBreakpointVector = 3;

struct Entry {
  std::array<std::uint8_t, 1> bytes;
  EmulationFixup fixup;
};

constexpr Entry kTable[] = {
    {{0xCC}, {EmulationFixup::Kind::Int3, "int3", 1, kBreakpointVector, std::nullopt, std::nullopt}},
    {{0x9B}, {EmulationFixup::Kind::Fwait, "fwait", 1, std::nullopt, std::nullopt, std::nullopt}},
};

constexpr EmulationFixup kLdmxcsr{EmulationFixup::Kind::Ldmxcsr, "ldmxcsr", 0, std::nullopt, std::nullopt, std::nullopt};
constexpr EmulationFixup kStmxcsr{EmulationFixup::Kind::Stmxcsr, "stmxcsr", 0, std::nullopt, std::nullopt, std::nullopt};
constexpr EmulationFixup kIntN{EmulationFixup::Kind::IntN, "int_n", 2, std::nullopt, std::nullopt, std::nullopt};
constexpr EmulationFixup kSysret{EmulationFixup::Kind::Sysret, "sysret", 2, std::nullopt, std::nullopt, std::nullopt};
constexpr EmulationFixup kSwapgs{EmulationFixup::Kind::Swapgs, "swapgs", 3, std::nullopt, std::nullopt, std::nullopt};
constexpr EmulationFixup kLsl{EmulationFixup::Kind::Lsl, "lsl", 0, std::nullopt, std::nullopt, std::nullopt};
constexpr std::string_view kSyscallName = "syscall";
constexpr std::uint8_t kIntImmediate = 0xCD;

// [REX] 0F 07 (sysret; REX.W makes it sysretq) and 0F 01 F8 (swapgs), which
// exist in 64-bit mode only.
std::optional<EmulationFixup> decode_system_call_return(std::span<const std::uint8_t> bytes) {
  std::size_t at = 0;
  std::uint8_t rex = 0;
  if (!bytes.empty() && (bytes[0] & 0xf0) == 0x40) rex = bytes[at++];
  if (bytes.size() >= at + 2 && bytes[at] == 0x0f && bytes[at + 1] == 0x07) {
    EmulationFixup fixup = kSysret;
    fixup.length = static_cast<unsigned>(at + 2);
    fixup.operand64 = (rex & 0x08) != 0;
    return fixup;
  }
  if (bytes.size() >= at + 3 && bytes[at] == 0x0f && bytes[at + 1] == 0x01 && bytes[at + 2] == 0xf8) {
    EmulationFixup fixup = kSwapgs;
    fixup.length = static_cast<unsigned>(at + 3);
    return fixup;
  }
  return std::nullopt;
}

// [66] [REX] 0F 03 /r with a register source (ModRM mod 3): lsl r, r/m16.
std::optional<EmulationFixup> decode_lsl(std::span<const std::uint8_t> bytes) {
  std::size_t at = 0;
  const bool operand16 = !bytes.empty() && bytes[0] == 0x66;
  if (operand16) ++at;
  std::uint8_t rex = 0;
  if (bytes.size() > at && (bytes[at] & 0xf0) == 0x40) rex = bytes[at++];
  if (bytes.size() < at + 3 || bytes[at] != 0x0f || bytes[at + 1] != 0x03) return std::nullopt;
  const std::uint8_t modrm = bytes[at + 2];
  if (modrm >> 6 != 3) return std::nullopt;
  EmulationFixup fixup = kLsl;
  fixup.length = static_cast<unsigned>(at + 3);
  fixup.destination_register = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
  fixup.source_register = (modrm & 7) | (rex & 1 ? 8 : 0);
  fixup.operand_bytes = rex & 8 ? 8 : operand16 ? 2 : 4;  // REX.W wins over 66
  return fixup;
}

// [REX] 0F AE /2 or /3 with a memory operand, decoded as in 64-bit mode
// (Intel SDM vol. 2, 2.1-2.2: ModRM, SIB, displacements, RIP-relative).
std::optional<EmulationFixup> decode_mxcsr_access(std::span<const std::uint8_t> bytes) {
  std::size_t at = 0;
  std::uint8_t rex = 0;
  if (!bytes.empty() && (bytes[0] & 0xf0) == 0x40) rex = bytes[at++];
  if (bytes.size() < at + 3 || bytes[at] != 0x0f || bytes[at + 1] != 0xae) return std::nullopt;
  at += 2;
  const std::uint8_t modrm = bytes[at++];
  const unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
  if (mod == 3 || (reg != 2 && reg != 3)) return std::nullopt;  // mod 3 is another instruction (fences, rdfsbase...)
  EmulationFixup fixup = reg == 2 ? kLdmxcsr : kStmxcsr;
  EmulationFixup::MemoryOperand operand;
  const unsigned rex_b = rex & 1 ? 8 : 0, rex_x = rex & 2 ? 8 : 0;
  unsigned displacement_bytes = mod == 1 ? 1 : mod == 2 ? 4 : 0;
  if (rm == 4) {
    if (bytes.size() < at + 1) return std::nullopt;
    const std::uint8_t sib = bytes[at++];
    operand.scale = 1u << (sib >> 6);
    const unsigned index = ((sib >> 3) & 7) | rex_x;
    if (index != 4) operand.index = index;  // 4 without REX.X: no index
    if ((sib & 7) == 5 && mod == 0)
      displacement_bytes = 4;  // no base, disp32
    else
      operand.base = (sib & 7) | rex_b;
  } else if (rm == 5 && mod == 0) {
    operand.rip_relative = true;
    displacement_bytes = 4;
  } else {
    operand.base = rm | rex_b;
  }
  if (bytes.size() < at + displacement_bytes) return std::nullopt;
  if (displacement_bytes == 1) operand.displacement = static_cast<std::int8_t>(bytes[at]);
  if (displacement_bytes == 4) {
    std::int32_t value;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    operand.displacement = value;
  }
  fixup.length = static_cast<unsigned>(at + displacement_bytes);
  fixup.operand = operand;
  return fixup;
}

}  // namespace

std::optional<EmulationFixup> EmulationFixup::find(std::span<const std::uint8_t> instruction_bytes, unsigned cpl,
                                                   bool code64) {
  // Ring 3 never runs in the emulator on the hosts that need this, and an
  // fwait there could have a task's x87 exception to deliver: not ours to skip.
  if (cpl != 0) return std::nullopt;
  if (code64) {
    if (auto access = decode_mxcsr_access(instruction_bytes)) return access;
    if (auto system = decode_system_call_return(instruction_bytes)) return system;
    if (auto lsl = decode_lsl(instruction_bytes)) return lsl;
  }
  if (instruction_bytes.size() >= 2 && instruction_bytes[0] == kIntImmediate) {
    EmulationFixup fixup = kIntN;
    fixup.software_interrupt = instruction_bytes[1];
    return fixup;
  }
  for (const auto& entry : kTable)
    if (instruction_bytes.size() >= entry.bytes.size() &&
        std::equal(entry.bytes.begin(), entry.bytes.end(), instruction_bytes.begin()))
      return entry.fixup;
  return std::nullopt;
}

std::string_view EmulationFixup::name(Kind kind) {
  for (const auto& entry : kTable)
    if (entry.fixup.kind == kind) return entry.fixup.instruction;
  if (kind == Kind::Ldmxcsr) return kLdmxcsr.instruction;
  if (kind == Kind::Stmxcsr) return kStmxcsr.instruction;
  if (kind == Kind::IntN) return kIntN.instruction;
  if (kind == Kind::Sysret) return kSysret.instruction;
  if (kind == Kind::Swapgs) return kSwapgs.instruction;
  if (kind == Kind::Syscall) return kSyscallName;
  if (kind == Kind::Lsl) return kLsl.instruction;
  return "unknown";
}

}  // namespace vmm
