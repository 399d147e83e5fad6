#include "vmm/kvm/GuestDebug.h"

namespace vmm {

namespace {

// DR7 (Intel SDM vol. 3B, 17.2.4): L/G enable pairs in bits 0-7, R/W and LEN
// nibbles from bit 16; bit 10 reads as one, GE (bit 9) as QEMU sets it.
constexpr std::uint64_t kDr7Fixed = 0x600;
constexpr std::uint64_t slot_bits(unsigned slot) { return 3ull << (slot * 2) | 0xfull << (16 + slot * 4); }
// G3 with R/W 00 (execute) and LEN 00: the nibble stays zero.
constexpr std::uint64_t kFixupEnable = 2ull << (kFixupDebugSlot * 2);

}  // namespace

kvm_guest_debug merge_guest_debug(const kvm_guest_debug& debugger, const FixupDebug& fixup) {
  kvm_guest_debug merged = debugger;
  std::uint64_t dr7 = merged.arch.debugreg[7] & ~slot_bits(kFixupDebugSlot);
  merged.arch.debugreg[kFixupDebugSlot] = 0;
  if (fixup.breakpoint) {
    merged.arch.debugreg[kFixupDebugSlot] = *fixup.breakpoint;
    dr7 |= kFixupEnable;
    merged.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
  }
  if ((dr7 & 0xff) == 0) {
    dr7 = 0;
    merged.control &= ~KVM_GUESTDBG_USE_HW_BP;
  } else {
    dr7 |= kDr7Fixed;
  }
  merged.arch.debugreg[7] = dr7;
  if (fixup.step) merged.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
  // Nothing left asked for: off, so KVM stops intercepting #DB and #BP.
  if (!(merged.control & ~KVM_GUESTDBG_ENABLE)) merged.control = 0;
  return merged;
}

}  // namespace vmm
