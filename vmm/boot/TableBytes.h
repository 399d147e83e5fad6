#pragma once
// Little-endian byte building and checksums for the firmware tables vmm writes
// into guest memory (the MP table, ACPI): both specifications sum a table's
// bytes to 0 mod 256 through one checksum byte.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vmm::table_bytes {

class Writer {
 public:
  void u8(std::uint8_t value) { bytes_.push_back(value); }
  void u16(std::uint16_t value) {
    u8(static_cast<std::uint8_t>(value));
    u8(static_cast<std::uint8_t>(value >> 8));
  }
  void u32(std::uint32_t value) {
    u16(static_cast<std::uint16_t>(value));
    u16(static_cast<std::uint16_t>(value >> 16));
  }
  void u64(std::uint64_t value) {
    u32(static_cast<std::uint32_t>(value));
    u32(static_cast<std::uint32_t>(value >> 32));
  }
  void text(std::string_view text) { bytes_.insert(bytes_.end(), text.begin(), text.end()); }
  void bytes(std::span<const std::uint8_t> more) { bytes_.insert(bytes_.end(), more.begin(), more.end()); }
  void zeros(std::size_t count) { bytes_.insert(bytes_.end(), count, 0); }
  std::size_t size() const { return bytes_.size(); }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

// The value that makes `bytes` sum to 0 mod 256 when stored in a byte of them
// that is still 0.
inline std::uint8_t checksum_for(std::span<const std::uint8_t> bytes) {
  std::uint8_t sum = 0;
  for (const std::uint8_t byte : bytes) sum = static_cast<std::uint8_t>(sum + byte);
  return static_cast<std::uint8_t>(-sum);
}

inline void put_u16(std::span<std::uint8_t> bytes, std::size_t offset, std::uint16_t value) {
  bytes[offset] = static_cast<std::uint8_t>(value);
  bytes[offset + 1] = static_cast<std::uint8_t>(value >> 8);
}

inline void put_u32(std::span<std::uint8_t> bytes, std::size_t offset, std::uint32_t value) {
  put_u16(bytes, offset, static_cast<std::uint16_t>(value));
  put_u16(bytes, offset + 2, static_cast<std::uint16_t>(value >> 16));
}

inline std::uint16_t get_u16(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return static_cast<std::uint16_t>(bytes[offset] | bytes[offset + 1] << 8);
}

inline std::uint32_t get_u32(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return get_u16(bytes, offset) | static_cast<std::uint32_t>(get_u16(bytes, offset + 2)) << 16;
}

inline std::uint64_t get_u64(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return get_u32(bytes, offset) | static_cast<std::uint64_t>(get_u32(bytes, offset + 4)) << 32;
}

}  // namespace vmm::table_bytes
