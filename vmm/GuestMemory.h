#pragma once
// Guest RAM: one anonymous mapping, presented to KVM as up to two slots laid out
// as on a PC: RAM below 3 GiB, the MMIO hole (IOAPIC, LAPIC, firmware) up to
// 4 GiB, and the rest of RAM from 4 GiB. Every access from vmm goes through a
// bounds check, because every address the guest hands us is untrusted.

#include <cstdint>
#include <span>
#include <vector>

#include "vmm/kvm/Mapping.h"

namespace vmm {

class GuestMemory {
 public:
  static constexpr std::uint64_t kMmioHoleStart = 3ull << 30;
  static constexpr std::uint64_t kHighMemoryStart = 4ull << 30;

  struct Region {
    std::uint64_t guest_address;
    std::uint64_t size;
    std::uint8_t* host;
  };

  // Throws InputError if the host cannot reserve `bytes` (which must be a
  // positive multiple of 4 KiB). Pages are touched only when used.
  explicit GuestMemory(std::uint64_t bytes);

  std::uint64_t size() const { return size_; }
  // Bytes of guest memory the host has backed with pages so far (mincore), so
  // that vmm's own memory use can be told apart from the guest's in its RSS.
  std::uint64_t resident_bytes() const;
  const std::vector<Region>& regions() const { return regions_; }
  // Where the contiguous RAM starting at 0 ends.
  std::uint64_t low_end() const { return regions_.front().size; }

  // The host view of [address, address + length), or an empty span when the range
  // is not entirely RAM of one region.
  std::span<std::uint8_t> host_span(std::uint64_t address, std::uint64_t length) const;
  bool contains(std::uint64_t address, std::uint64_t length) const {
    return length == 0 || !host_span(address, length).empty();
  }

  // Throw std::out_of_range naming the range when it is not RAM.
  void write(std::uint64_t address, std::span<const std::uint8_t> bytes);
  void fill(std::uint64_t address, std::uint64_t length, std::uint8_t value);
  void read(std::uint64_t address, std::span<std::uint8_t> bytes) const;

 private:
  std::span<std::uint8_t> checked_span(std::uint64_t address, std::uint64_t length) const;

  std::uint64_t size_;
  Mapping mapping_;
  std::vector<Region> regions_;
};

}  // namespace vmm
