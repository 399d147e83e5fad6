#include "devices/Bus.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace vmm {

namespace {

std::string hex_range(std::uint64_t base, std::uint64_t size) {
  char text[64];
  std::snprintf(text, sizeof text, "[0x%llx, 0x%llx)", static_cast<unsigned long long>(base),
                static_cast<unsigned long long>(base + size));
  return text;
}

}  // namespace

void Bus::add(std::uint64_t base, std::uint64_t size, BusDevice& device, std::string name) {
  if (size == 0 || base + size < base)
    throw std::invalid_argument(name_ + ": " + name + " has an empty or wrapping range " + hex_range(base, size));
  auto next = std::lower_bound(ranges_.begin(), ranges_.end(), base,
                               [](const Range& range, std::uint64_t b) { return range.base < b; });
  auto overlaps = [&](const Range& other) { return base < other.base + other.size && other.base < base + size; };
  if (next != ranges_.end() && overlaps(*next))
    throw std::invalid_argument(name_ + ": " + name + " " + hex_range(base, size) + " overlaps " + next->name + " " +
                                hex_range(next->base, next->size));
  if (next != ranges_.begin() && overlaps(*std::prev(next))) {
    const Range& prev = *std::prev(next);
    throw std::invalid_argument(name_ + ": " + name + " " + hex_range(base, size) + " overlaps " + prev.name + " " +
                                hex_range(prev.base, prev.size));
  }
  ranges_.insert(next, Range{base, size, &device, std::move(name)});
}

const Bus::Range* Bus::find(std::uint64_t address) const {
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                                [](std::uint64_t a, const Range& range) { return a < range.base; });
  if (after == ranges_.begin()) return nullptr;
  const Range& range = *std::prev(after);
  return address - range.base < range.size ? &range : nullptr;
}

bool Bus::read(std::uint64_t address, std::span<std::uint8_t> data) {
  if (const Range* range = find(address)) {
    range->device->read(address - range->base, data);
    return true;
  }
  std::fill(data.begin(), data.end(), 0xff);
  unclaimed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool Bus::write(std::uint64_t address, std::span<const std::uint8_t> data) {
  if (const Range* range = find(address)) {
    range->device->write(address - range->base, data);
    return true;
  }
  unclaimed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace vmm
