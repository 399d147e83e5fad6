#include "vmm/loader/MemoryMap.h"

#include <algorithm>

namespace vmm {

std::vector<MemoryMapEntry> bios_memory_map(const GuestMemory& memory) {
  using namespace memory_map;
  const std::uint64_t low_end = memory.low_end();
  std::vector<MemoryMapEntry> map;
  map.push_back({0, std::min(low_end, kEbdaStart), MemoryMapEntry::kUsable});
  if (low_end > kEbdaStart) map.push_back({kEbdaStart, kVgaStart - kEbdaStart, MemoryMapEntry::kReserved});
  if (low_end > kBiosStart) map.push_back({kBiosStart, kHighMemory - kBiosStart, MemoryMapEntry::kReserved});
  if (low_end > kHighMemory) map.push_back({kHighMemory, low_end - kHighMemory, MemoryMapEntry::kUsable});
  for (std::size_t i = 1; i < memory.regions().size(); ++i)
    map.push_back({memory.regions()[i].guest_address, memory.regions()[i].size, MemoryMapEntry::kUsable});
  return map;
}

}  // namespace vmm
