#pragma once
// LSL (load segment limit) as the Intel SDM defines it (vol. 2A, "LSL";
// vol. 3A 3.4.5 for the descriptor's fields), for the hosts whose KVM
// instruction emulator has no LSL (nested kvm_pvm, where guest ring 0 runs in
// it). Linux runs `lsl` in ring 0 to read its CPU number from the GDT
// (LOAD_CPU_AND_NODE_SEG_LIMIT, in the paranoid entry of an NMI, say).
//
// Pure: the selector, the descriptor it selects and the privilege go in, the
// limit comes out, so each rule is unit-tested with no vCPU (SegmentLimitTest).

#include <cstdint>
#include <optional>

namespace vmm::x86 {

constexpr std::uint64_t kRflagsZf = 1ull << 6;

// The byte offset of a selector's descriptor in its table (GDT, or the LDT
// when TI is set), and whether it lies wholly inside a table whose limit
// (the last valid byte offset, as LGDT loads it) is `table_limit`.
constexpr std::uint32_t descriptor_offset(std::uint16_t selector) { return selector & ~7u; }
constexpr bool selects_local_table(std::uint16_t selector) { return (selector & 4) != 0; }
constexpr bool descriptor_in_table(std::uint16_t selector, std::uint32_t table_limit) {
  return std::uint64_t{descriptor_offset(selector)} + 7 <= table_limit;
}

// The limit LSL loads for `selector`, whose descriptor (its low 8 bytes) is
// `descriptor`, at privilege `cpl`, in IA-32e mode or not; none when LSL
// would clear ZF and leave its destination alone: a null selector, a system
// type LSL does not take (in IA-32e mode only the LDT and the 64-bit TSSs,
// busy or not), or a descriptor the selector's RPL or the CPL may not see
// (DPL below either, unless it is a conforming code segment). The selector
// must be in its table (descriptor_in_table); the present bit is not checked.
// With G set the limit counts 4-KiB pages and is scaled to bytes.
std::optional<std::uint32_t> lsl_limit(std::uint16_t selector, std::uint64_t descriptor, unsigned cpl, bool ia32e);

// LSL's destination after it loaded `limit` (SDM: a 16-bit operand keeps the
// register's upper bits; 32 and 64 bits zero-extend in 64-bit mode).
constexpr std::uint64_t lsl_destination(std::uint64_t old_value, std::uint32_t limit, unsigned operand_bytes) {
  return operand_bytes == 2 ? (old_value & ~0xffffull) | (limit & 0xffffu) : limit;
}

}  // namespace vmm::x86
