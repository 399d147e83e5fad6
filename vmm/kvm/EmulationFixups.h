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

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace vmm {

struct EmulationFixup {
  enum class Kind : unsigned { Int3, Fwait };
  static constexpr unsigned kKinds = 2;

  Kind kind;
  std::string_view instruction;  // its mnemonic, for the report and the stats
  unsigned length;               // bytes RIP moves past it
  std::optional<std::uint8_t> exception;  // the vector to inject afterwards, if any

  // The fix-up for an emulation failure on `instruction_bytes` at `cpl`;
  // none when the table has no entry (the failure stays a guest crash).
  static std::optional<EmulationFixup> find(std::span<const std::uint8_t> instruction_bytes, unsigned cpl);
  static std::string_view name(Kind kind);
};

}  // namespace vmm
