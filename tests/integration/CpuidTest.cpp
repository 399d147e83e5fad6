// The config's CPUID filter as the guest sees it in ring 0 (the cpuid_probe
// guest prints leaves 1, 7 and 0x40000000): the hypervisor's signature and
// bit can be hidden, and features KVM controls can be cleared. On this
// project's hosts (nested kvm_pvm) the other feature bits come from the host
// whatever the filter says; the test prints which, and docs/host-quirks.md says so.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

using Cpuid = std::map<std::string, std::uint32_t>;  // "1.0 ecx" -> value

Cpuid probe(const nlohmann::json& cpuid_filter) {
  const std::string config = scratch_path("json");
  nlohmann::json vm = {{"memory_mib", 16}, {"timeout_ms", 60000}};
  if (!cpuid_filter.is_null()) vm["cpuid"] = cpuid_filter;
  std::ofstream(config) << vm.dump();
  const auto result = run_vmm({"run", config, "--kernel", std::string(VMM_HOSTILE_GUESTS) + "/hostile-cpuid_probe.elf"});
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  Cpuid values;
  for (const auto& line : lines_with_tag(result.out, "cpuid")) {
    std::istringstream fields(line);
    std::string tag, leaf, reg, value;
    fields >> tag >> leaf >> reg >> value;
    values[leaf + " " + reg] = static_cast<std::uint32_t>(std::stoul(value, nullptr, 16));
  }
  EXPECT_EQ(values.size(), 7u) << describe(result);
  return values;
}

bool bit(const Cpuid& values, const std::string& where, unsigned n) { return values.at(where) >> n & 1; }

TEST(Cpuid, TheHypervisorCanBeHiddenFromTheGuest) {
  REQUIRE_KVM();
  const Cpuid plain = probe(nullptr);
  const Cpuid hidden = probe({{"hide_hypervisor", true}});
  // What KVM shows by default: "KVMKVMKVM" and CPUID.1:ECX[31].
  EXPECT_EQ(plain.at("40000000.0 ebx"), 0x4b4d564bu);
  EXPECT_EQ(plain.at("40000000.0 ecx"), 0x564b4d56u);
  EXPECT_TRUE(bit(plain, "1.0 ecx", 31));
  EXPECT_EQ(hidden.at("40000000.0 ebx"), 0u);
  EXPECT_EQ(hidden.at("40000000.0 ecx"), 0u);
  EXPECT_EQ(hidden.at("40000000.0 edx"), 0u);
  EXPECT_FALSE(bit(hidden, "1.0 ecx", 31));
}

TEST(Cpuid, FeaturesKvmControlsAreClearedAndTheRestAreReported) {
  REQUIRE_KVM();
  const Cpuid plain = probe(nullptr);
  // x2APIC is KVM's own (its in-kernel LAPIC) and cmpxchg16b it honours on
  // every host: cleared, the guest sees them gone.
  const Cpuid cleared = probe({{"clear", {"x2apic", "cx16"}}});
  EXPECT_TRUE(bit(plain, "1.0 ecx", 21));
  EXPECT_FALSE(bit(cleared, "1.0 ecx", 21));
  if (bit(plain, "1.0 ecx", 13)) {
    EXPECT_FALSE(bit(cleared, "1.0 ecx", 13));
  }
  // The rest: what this host does with them, for the record.
  const Cpuid others = probe({{"clear", {"popcnt", "xsave", "avx", "smep", "smap", "fsgsbase"}}});
  struct Feature {
    const char* name;
    const char* where;
    unsigned bit;
  };
  for (const Feature& f : {Feature{"popcnt", "1.0 ecx", 23}, Feature{"xsave", "1.0 ecx", 26}, Feature{"avx", "1.0 ecx", 28},
                           Feature{"smep", "7.0 ebx", 7}, Feature{"smap", "7.0 ebx", 20}, Feature{"fsgsbase", "7.0 ebx", 0}})
    std::printf("[ cpuid    ] clear %-8s: %s\n", f.name,
                !bit(plain, f.where, f.bit)    ? "not offered by this host"
                : !bit(others, f.where, f.bit) ? "cleared in the guest"
                                               : "still set in the guest: this host's KVM does not honour it");
}

}  // namespace
}  // namespace vmm::testing
