#pragma once
// The KVM system fd (/dev/kvm): API version, capabilities, supported CPUID.

#include <linux/kvm.h>

#include <string>
#include <vector>

#include "base/UniqueFd.h"

namespace vmm {

class Kvm {
 public:
  // Opens the device and checks the API version and every capability vmm relies
  // on; throws HostError with a message that says what to do.
  explicit Kvm(const std::string& device = "/dev/kvm");

  // KVM_GET_API_VERSION of the device, opened and closed again, without the
  // capability checks; throws HostError as the constructor does on open.
  static int api_version(const std::string& device = "/dev/kvm");

  int fd() const { return fd_.get(); }
  int check_extension(long capability) const;
  std::size_t vcpu_mmap_size() const { return vcpu_mmap_size_; }
  std::vector<kvm_cpuid_entry2> supported_cpuid() const;
  // The most vCPUs one VM may have: KVM_CAP_MAX_VCPUS, or where that is missing
  // the recommended KVM_CAP_NR_VCPUS, or else 4 (Documentation/virt/kvm/api.rst).
  unsigned max_vcpus() const;

 private:
  UniqueFd fd_;
  std::size_t vcpu_mmap_size_ = 0;
};

}  // namespace vmm
