#pragma once
// `vmm --version` and `vmm version [--json]`: the build, and the KVM API of
// this host's /dev/kvm when it can be opened (why not, when it cannot).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace vmm {

struct VersionReport {
  std::string version;
  std::string git;
  std::string build_type;
  std::string sanitizers;
  bool static_binary = false;
  std::string kvm_device;
  std::optional<int> kvm_api_version;  // empty: kvm_error says why
  std::string kvm_error;

  static VersionReport probe(const std::string& kvm_device = "/dev/kvm");
  // vmm 0.9.0 (git 7307f03, RelWithDebInfo, static)
  // KVM API version 12 (/dev/kvm)
  std::string text() const;
  nlohmann::json json() const;
};

}  // namespace vmm
