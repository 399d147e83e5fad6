#pragma once
// Flat segments as KVM describes them (kvm_segment), for the vCPU's entry
// state and for the SYSCALL and SYSRET fix-ups: base 0, limit 4 GiB with
// 4-KiB granularity, present, S = 1 (Intel SDM vol. 3A, 3.4.5). D/B is set, as
// 32-bit code and every data segment want; 64-bit code sets L and clears it.

#include <linux/kvm.h>

#include <cstdint>

namespace vmm::x86 {

constexpr std::uint8_t kTypeCodeExecuteReadAccessed = 0xb;
constexpr std::uint8_t kTypeDataReadWriteAccessed = 0x3;

inline kvm_segment flat_segment(std::uint16_t selector, std::uint8_t type, std::uint8_t dpl = 0) {
  kvm_segment segment{};
  segment.base = 0;
  segment.limit = 0xffffffff;  // bytes, as KVM takes it
  segment.selector = selector;
  segment.type = type;
  segment.present = 1;
  segment.dpl = dpl;
  segment.db = 1;
  segment.s = 1;
  segment.g = 1;
  return segment;
}

}  // namespace vmm::x86
