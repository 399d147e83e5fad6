#pragma once
// The x86-64 register file as GDB sees it, in the order of vmm's target
// description (target_description_xml()): GDB's org.gnu.gdb.i386.core
// (general registers, rip, eflags, segments, x87), org.gnu.gdb.i386.segments
// (fs_base, gs_base) and vmm's own org.vmm.x86.sys (cr0, cr2, cr3, cr4, cr8,
// efer). The 'g' packet is every register in this order, little-endian.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmm::debug {

struct X86Registers {
  // rax rbx rcx rdx rsi rdi rbp rsp r8..r15: GDB's order, not KVM's struct order.
  std::array<std::uint64_t, 16> gpr{};
  std::uint64_t rip = 0;
  std::uint32_t eflags = 0;
  std::uint32_t cs = 0, ss = 0, ds = 0, es = 0, fs = 0, gs = 0;  // selectors
  std::array<std::array<std::uint8_t, 10>, 8> st{};             // st0..st7, 80-bit
  std::uint32_t fctrl = 0x37f, fstat = 0, ftag = 0, fiseg = 0, fioff = 0, foseg = 0, fooff = 0, fop = 0;
  std::uint64_t fs_base = 0, gs_base = 0;
  std::uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0, efer = 0;
};

// Register numbers as in the description.
inline constexpr unsigned kRegisterCount = 16 + 1 + 1 + 6 + 8 + 8 + 2 + 6;  // 48
inline constexpr unsigned kRipRegister = 16;
// Size in bytes of register `number`; 0 if there is no such register.
unsigned register_size(unsigned number);

std::vector<std::uint8_t> encode_registers(const X86Registers& registers);  // the 'g' reply, as bytes
// From a 'G' packet's bytes: exactly the full size, else nullopt.
std::optional<X86Registers> decode_registers(const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> encode_register(const X86Registers& registers, unsigned number);  // 'p'; empty if none
// 'P': false if no such register or the size is wrong.
bool decode_register(X86Registers& registers, unsigned number, const std::vector<std::uint8_t>& bytes);

// The target description GDB reads with qXfer:features:read:target.xml,
// self-contained (no xi:include), architecture i386:x86-64.
const std::string& target_description_xml();

}  // namespace vmm::debug
