#include "vmm/kvm/Vm.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "base/KvmAbi.h"
#include "vmm/Errors.h"

namespace vmm {

namespace {

// Three pages KVM needs on Intel for real-mode emulation of the guest, placed
// just below the BIOS area where no RAM or MMIO of ours lives (QEMU's choice too).
constexpr std::uint64_t kTssAddress = 0xfffbd000;

[[noreturn]] void fail(const char* what) { throw HostError(std::string(what) + ": " + std::strerror(errno)); }

}  // namespace

Vm::Vm(const Kvm& kvm) : fd_(::ioctl(kvm.fd(), KVM_CREATE_VM, 0)) {
  if (!fd_.valid()) fail("KVM_CREATE_VM");
  if (::ioctl(fd_.get(), KVM_SET_TSS_ADDR, kTssAddress) < 0) fail("KVM_SET_TSS_ADDR");
}

void Vm::set_memory_region(std::uint32_t slot, std::uint64_t guest_address, std::uint64_t size, void* host) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = guest_address;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<std::uint64_t>(host);
  if (::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) fail("KVM_SET_USER_MEMORY_REGION");
}

void Vm::map(const GuestMemory& memory) {
  for (std::size_t slot = 0; slot < memory.regions().size(); ++slot) {
    const auto& region = memory.regions()[slot];
    set_memory_region(static_cast<std::uint32_t>(slot), region.guest_address, region.size, region.host);
  }
}

void Vm::create_irqchip() {
  if (::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) fail("KVM_CREATE_IRQCHIP");
}

void Vm::create_in_kernel_pit() {
  kvm_pit_config config{};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(fd_.get(), KVM_CREATE_PIT2, &config) < 0) fail("KVM_CREATE_PIT2");
}

void Vm::set_gsi_routing(const GsiRoutingTable& table) {
  auto buffer = table.to_kvm();
  if (::ioctl(fd_.get(), kvm_abi::kSetGsiRouting, buffer.data()) < 0) fail("KVM_SET_GSI_ROUTING");
}

}  // namespace vmm
