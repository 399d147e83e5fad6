#include "vmm/kvm/SegmentLimit.h"

namespace vmm::x86 {

std::optional<std::uint32_t> lsl_limit(std::uint16_t selector, std::uint64_t descriptor, unsigned cpl, bool ia32e) {
  if ((selector & ~3u) == 0) return std::nullopt;  // the null selector (index 0 in the GDT), whatever its RPL
  const unsigned type = (descriptor >> 40) & 0xf;
  const bool system = ((descriptor >> 44) & 1) == 0;
  const unsigned dpl = (descriptor >> 45) & 3, rpl = selector & 3;
  if (system) {
    // SDM vol. 2A, LSL: the system types whose limit LSL loads.
    const bool valid = ia32e ? (type == 2 || type == 9 || type == 11)
                             : (type == 1 || type == 2 || type == 3 || type == 9 || type == 11);
    if (!valid) return std::nullopt;
  }
  const bool conforming_code = !system && (type & 0xc) == 0xc;
  if (!conforming_code && (dpl < cpl || dpl < rpl)) return std::nullopt;
  std::uint32_t limit = static_cast<std::uint32_t>((descriptor & 0xffff) | ((descriptor >> 32) & 0xf0000));
  if ((descriptor >> 55) & 1) limit = (limit << 12) | 0xfff;
  return limit;
}

}  // namespace vmm::x86
