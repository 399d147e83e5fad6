#include "vmm/GuestMemory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "vmm/Errors.h"

namespace vmm {

GuestMemory::GuestMemory(std::uint64_t bytes) : size_(bytes) {
  if (bytes == 0 || bytes % 4096 != 0) throw InputError("guest memory size must be a positive multiple of 4 KiB");
  // MAP_NORESERVE: a large guest costs nothing until it touches its pages.
  void* host = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (host == MAP_FAILED)
    throw InputError("cannot reserve " + std::to_string(bytes >> 20) + " MiB of guest memory: " +
                     std::strerror(errno));
  mapping_ = Mapping(host, bytes);
  auto* base = static_cast<std::uint8_t*>(host);
  const std::uint64_t low = bytes < kMmioHoleStart ? bytes : kMmioHoleStart;
  regions_.push_back({0, low, base});
  if (bytes > low) regions_.push_back({kHighMemoryStart, bytes - low, base + low});
}

std::span<std::uint8_t> GuestMemory::host_span(std::uint64_t address, std::uint64_t length) const {
  for (const auto& region : regions_) {
    if (address < region.guest_address) continue;
    const std::uint64_t offset = address - region.guest_address;
    if (offset < region.size && length <= region.size - offset) return {region.host + offset, length};
  }
  return {};
}

std::span<std::uint8_t> GuestMemory::checked_span(std::uint64_t address, std::uint64_t length) const {
  if (length == 0) return {};
  auto span = host_span(address, length);
  if (span.empty()) {
    char text[160];
    std::snprintf(text, sizeof text, "guest range [0x%llx, +0x%llx) is not in guest RAM (%llu MiB)",
                  static_cast<unsigned long long>(address), static_cast<unsigned long long>(length),
                  static_cast<unsigned long long>(size_ >> 20));
    throw std::out_of_range(text);
  }
  return span;
}

void GuestMemory::write(std::uint64_t address, std::span<const std::uint8_t> bytes) {
  auto target = checked_span(address, bytes.size());
  if (!bytes.empty()) std::memcpy(target.data(), bytes.data(), bytes.size());
}

void GuestMemory::fill(std::uint64_t address, std::uint64_t length, std::uint8_t value) {
  auto target = checked_span(address, length);
  if (length != 0) std::memset(target.data(), value, length);
}

void GuestMemory::read(std::uint64_t address, std::span<std::uint8_t> bytes) const {
  auto source = checked_span(address, bytes.size());
  if (!bytes.empty()) std::memcpy(bytes.data(), source.data(), bytes.size());
}

std::uint64_t GuestMemory::resident_bytes() const {
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::uint64_t resident = 0;
  std::vector<unsigned char> vector(1024);
  for (const Region& region : regions_) {
    // In chunks: a per-page vector for all of a large guest would itself be
    // megabytes of vmm memory.
    for (std::uint64_t offset = 0; offset < region.size; offset += vector.size() * page) {
      const std::uint64_t length = std::min<std::uint64_t>(vector.size() * page, region.size - offset);
      if (::mincore(region.host + offset, length, vector.data()) != 0) return 0;  // unknown; never on our mapping
      for (std::uint64_t i = 0; i < (length + page - 1) / page; ++i) resident += (vector[i] & 1) * page;
    }
  }
  return resident;
}

}  // namespace vmm
