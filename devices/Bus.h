#pragma once
// A bus of non-overlapping address ranges (the port-I/O space or the MMIO space).
// Ranges are registered while the machine is built and never change while vCPUs
// run, so lookups need no lock. Unclaimed reads return all-ones, as on a PC with
// nothing decoding the address; every unclaimed access is counted, never fatal.

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "devices/BusDevice.h"

namespace vmm {

class Bus {
 public:
  struct Range {
    std::uint64_t base;
    std::uint64_t size;
    BusDevice* device;
    std::string name;
  };

  explicit Bus(std::string name) : name_(std::move(name)) {}

  // Throws std::invalid_argument naming both devices if [base, base+size) overlaps
  // a registered range, or if size is zero. The device must outlive the bus.
  void add(std::uint64_t base, std::uint64_t size, BusDevice& device, std::string name);

  // Returns false (and counts the access) when no device claims the address.
  bool read(std::uint64_t address, std::span<std::uint8_t> data);
  bool write(std::uint64_t address, std::span<const std::uint8_t> data);

  std::uint64_t unclaimed_accesses() const { return unclaimed_.load(std::memory_order_relaxed); }
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  const Range* find(std::uint64_t address) const;

  std::string name_;
  std::vector<Range> ranges_;  // sorted by base
  std::atomic<std::uint64_t> unclaimed_{0};
};

}  // namespace vmm
