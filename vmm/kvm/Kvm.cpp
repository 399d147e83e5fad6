#include "vmm/kvm/Kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "base/KvmAbi.h"
#include "vmm/Errors.h"

namespace vmm {

namespace {

struct RequiredCapability {
  long id;
  const char* name;
};

constexpr RequiredCapability kRequired[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},       {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},                   {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"}, {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
};

std::string open_advice(const std::string& device, int error) {
  std::string message = "cannot open " + device + ": " + std::strerror(error) + ". ";
  switch (error) {
    case ENOENT:
      return message +
             "KVM is not available: load the module (modprobe kvm_intel or kvm_amd), enable virtualization "
             "in the firmware, or on a cloud VM choose an instance type with nested virtualization.";
    case EACCES:
    case EPERM:
      return message + "Join the kvm group (sudo usermod -aG kvm $USER, then log in again) or run as root.";
    default: return message + "Check that the kvm module is loaded and the device node is usable.";
  }
}

}  // namespace

Kvm::Kvm(const std::string& device) : fd_(::open(device.c_str(), O_RDWR | O_CLOEXEC)) {
  if (!fd_.valid()) throw HostError(open_advice(device, errno));
  const int version = ::ioctl(fd_.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION)
    throw HostError(device + " speaks KVM API version " + std::to_string(version) + ", vmm needs " +
                    std::to_string(KVM_API_VERSION));
  std::string missing;
  for (const auto& capability : kRequired)
    if (check_extension(capability.id) <= 0) missing += std::string(missing.empty() ? "" : ", ") + capability.name;
  if (!missing.empty()) throw HostError("this kernel's KVM lacks capabilities vmm needs: " + missing);
  const int size = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size <= 0) throw HostError(std::string("KVM_GET_VCPU_MMAP_SIZE: ") + std::strerror(errno));
  vcpu_mmap_size_ = static_cast<std::size_t>(size);
}

int Kvm::api_version(const std::string& device) {
  const UniqueFd fd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) throw HostError(open_advice(device, errno));
  const int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version < 0) throw HostError(device + ": KVM_GET_API_VERSION: " + std::strerror(errno));
  return version;
}

int Kvm::check_extension(long capability) const { return ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability); }

unsigned Kvm::max_vcpus() const {
  for (const long capability : {KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS})
    if (const int count = check_extension(capability); count > 0) return static_cast<unsigned>(count);
  return 4;
}

std::vector<kvm_cpuid_entry2> Kvm::supported_cpuid() const {
  // The kernel says E2BIG until the buffer is large enough for every leaf.
  for (std::size_t entries = 64; entries <= 4096; entries *= 2) {
    std::vector<std::uint8_t> buffer(kvm_abi::kEntriesOffset + entries * sizeof(kvm_cpuid_entry2));
    const kvm_abi::FlexArrayHeader header{static_cast<std::uint32_t>(entries), 0};
    std::memcpy(buffer.data(), &header, sizeof header);
    if (::ioctl(fd_.get(), kvm_abi::kGetSupportedCpuid, buffer.data()) == 0) {
      kvm_abi::FlexArrayHeader answer;
      std::memcpy(&answer, buffer.data(), sizeof answer);
      std::vector<kvm_cpuid_entry2> leaves(answer.count);
      std::memcpy(leaves.data(), buffer.data() + kvm_abi::kEntriesOffset, answer.count * sizeof(kvm_cpuid_entry2));
      return leaves;
    }
    if (errno != E2BIG) throw HostError(std::string("KVM_GET_SUPPORTED_CPUID: ") + std::strerror(errno));
  }
  throw HostError("KVM_GET_SUPPORTED_CPUID: more than 4096 CPUID leaves");
}

}  // namespace vmm
