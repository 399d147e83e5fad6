#pragma once
// Exact C layouts of the KVM structures that end in a flexible array.
//
// The uapi headers declare those arrays with __DECLARE_FLEX_ARRAY, whose empty
// placeholder struct has size 1 in C++ (0 in C). Under g++ that moves `entries`
// (to offset 16 in kvm_irq_routing, 12 in kvm_cpuid2) and changes the size
// encoded in the ioctl numbers, so the kernel answers ENOTTY. We use the C layout:
// an 8-byte header with the entries right after it.

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace vmm::kvm_abi {

struct FlexArrayHeader {
  std::uint32_t count;  // nr / nent
  std::uint32_t flags_or_padding;
};
static_assert(sizeof(FlexArrayHeader) == 8);

constexpr std::size_t kEntriesOffset = sizeof(FlexArrayHeader);

constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, sizeof(FlexArrayHeader));
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, sizeof(FlexArrayHeader));
constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, sizeof(FlexArrayHeader));
constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, sizeof(FlexArrayHeader));
constexpr unsigned long kSetGsiRouting = _IOC(_IOC_WRITE, KVMIO, 0x6a, sizeof(FlexArrayHeader));

}  // namespace vmm::kvm_abi
