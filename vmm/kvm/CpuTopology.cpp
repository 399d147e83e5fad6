#include "vmm/kvm/CpuTopology.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace vmm {

namespace {

constexpr std::uint32_t kLeafVendor = 0x0;  // EAX: the highest basic leaf
constexpr std::uint32_t kLeafFeatures = 0x1;
constexpr std::uint32_t kLeafCacheParameters = 0x4;
constexpr std::uint32_t kLeafExtendedTopology = 0xb;
constexpr std::uint32_t kLeafExtendedTopologyV2 = 0x1f;

constexpr std::uint32_t kEdxHtt = 1u << 28;

// Leaf 4 EAX fields.
constexpr std::uint32_t kCacheTypeMask = 0x1f;  // 0: no more caches
constexpr unsigned kCacheLevelShift = 5;
constexpr std::uint32_t kCacheLevelMask = 0x7;
constexpr unsigned kCacheSharingShift = 14;  // bits 25:14
constexpr unsigned kCoresShift = 26;         // bits 31:26
constexpr std::uint32_t kCacheKeptBits = (1u << kCacheSharingShift) - 1;

// Leaf 0xB / 0x1F level types (ECX[15:8]).
constexpr std::uint32_t kLevelInvalid = 0, kLevelSmt = 1, kLevelCore = 2;

}  // namespace

CpuTopology::CpuTopology(unsigned cpus) : cpus_(cpus) {
  if (cpus == 0 || cpus > 255)
    throw std::invalid_argument("CPU topology: " + std::to_string(cpus) + " CPUs; CPUID numbers 1 to 255");
  while ((1u << core_id_bits_) < cpus) ++core_id_bits_;
}

std::vector<kvm_cpuid_entry2> CpuTopology::cpuid_for(const std::vector<kvm_cpuid_entry2>& supported,
                                                     unsigned index) const {
  // Hardware reports the addressable ids of the package, a power of two; with
  // one thread per core that is also what the core level of leaf 0xB spans.
  const std::uint32_t addressable = 1u << core_id_bits_;
  std::uint32_t max_basic_leaf = 0;
  std::vector<kvm_cpuid_entry2> cpuid;
  for (const auto& supported_entry : supported) {
    kvm_cpuid_entry2 entry = supported_entry;
    switch (entry.function) {
      case kLeafVendor: max_basic_leaf = entry.eax; break;
      case kLeafFeatures:
        entry.ebx = (entry.ebx & 0x0000ffff) | index << 24 | addressable << 16;
        entry.edx = cpus_ > 1 ? entry.edx | kEdxHtt : entry.edx & ~kEdxHtt;
        break;
      case kLeafCacheParameters: {
        if ((entry.eax & kCacheTypeMask) == 0) break;  // the terminating subleaf
        // L1 and L2 belong to a core (one thread each); L3 to the package.
        const std::uint32_t level = (entry.eax >> kCacheLevelShift) & kCacheLevelMask;
        const std::uint32_t sharing = level >= 3 ? addressable - 1 : 0;
        entry.eax = (entry.eax & kCacheKeptBits) | sharing << kCacheSharingShift | (cpus_ - 1) << kCoresShift;
        break;
      }
      case kLeafExtendedTopology:
      case kLeafExtendedTopologyV2: continue;  // rewritten whole below
      default: break;
    }
    cpuid.push_back(entry);
  }

  // KVM may list these leaves with only some subleaves; a guest walks them
  // until the invalid level, so all three are written, each flagged as indexed.
  for (const std::uint32_t leaf : {kLeafExtendedTopology, kLeafExtendedTopologyV2}) {
    const bool listed = std::any_of(supported.begin(), supported.end(),
                                    [&](const kvm_cpuid_entry2& entry) { return entry.function == leaf; });
    if (!listed && leaf > max_basic_leaf) continue;  // the guest would never ask
    struct Level {
      std::uint32_t shift, count, type;
    };
    const Level levels[] = {{0, 1, kLevelSmt}, {core_id_bits_, cpus_, kLevelCore}, {0, 0, kLevelInvalid}};
    for (std::uint32_t subleaf = 0; subleaf < 3; ++subleaf) {
      kvm_cpuid_entry2 entry{};
      entry.function = leaf;
      entry.index = subleaf;
      entry.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
      entry.eax = levels[subleaf].shift;  // x2APIC id bits below the next level
      entry.ebx = levels[subleaf].count;  // logical processors at this level
      entry.ecx = levels[subleaf].type << 8 | subleaf;
      entry.edx = index;  // x2APIC id
      cpuid.push_back(entry);
    }
  }
  return cpuid;
}

}  // namespace vmm
