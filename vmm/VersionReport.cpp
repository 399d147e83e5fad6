#include "vmm/VersionReport.h"

#include "vmm/BuildInfo.h"
#include "vmm/Errors.h"
#include "vmm/kvm/Kvm.h"

namespace vmm {

VersionReport VersionReport::probe(const std::string& kvm_device) {
  VersionReport report;
  report.version = build_info::kVersion;
  report.git = build_info::kGitDescription;
  report.build_type = build_info::kBuildType;
  report.sanitizers = build_info::kSanitizers;
  report.static_binary = report.sanitizers.empty();  // the sanitizers' runtimes need the dynamic loader
  report.kvm_device = kvm_device;
  try {
    report.kvm_api_version = Kvm::api_version(kvm_device);
  } catch (const HostError& e) {
    report.kvm_error = e.what();
  }
  return report;
}

std::string VersionReport::text() const {
  std::string text = "vmm " + version + " (git " + git + ", " + build_type;
  text += sanitizers.empty() ? "" : ", sanitizers " + sanitizers;
  text += static_binary ? ", static)\n" : ")\n";
  if (kvm_api_version)
    text += "KVM API version " + std::to_string(*kvm_api_version) + " (" + kvm_device + ")\n";
  else
    text += "KVM: " + kvm_error + "\n";
  return text;
}

nlohmann::json VersionReport::json() const {
  nlohmann::json kvm = {{"device", kvm_device}};
  if (kvm_api_version)
    kvm["api_version"] = *kvm_api_version;
  else
    kvm["error"] = kvm_error;
  return {{"name", "vmm"},
          {"version", version},
          {"git", git},
          {"build", {{"type", build_type}, {"sanitizers", sanitizers}, {"static", static_binary}}},
          {"kvm", kvm}};
}

}  // namespace vmm
