#include "vmm/kvm/VcpuStats.h"

#include <linux/kvm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vmm/Errors.h"

namespace vmm {

namespace {

// struct kvm_stats_desc ends in a flexible name array declared with
// __DECLARE_FLEX_ARRAY, whose size differs in C++ (see base/KvmAbi.h), so the
// descriptor is read field by field from the C layout: flags, exponent, size,
// offset, bucket_size, then name_size bytes of name.
constexpr std::size_t kDescriptorFixedBytes = 16;
constexpr std::uint32_t kMaxDescriptors = 4096;
constexpr std::uint32_t kMaxNameBytes = 4096;

template <typename T>
T field(const std::uint8_t* bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes + offset, sizeof value);
  return value;
}

void read_exactly(int fd, void* buffer, std::size_t length, std::uint64_t offset, const char* what) {
  const ssize_t got = ::pread(fd, buffer, length, static_cast<off_t>(offset));
  if (got < 0) throw HostError(std::string("KVM statistics: reading the ") + what + ": " + std::strerror(errno));
  if (static_cast<std::size_t>(got) != length)
    throw HostError(std::string("KVM statistics: the ") + what + " is shorter than its header says");
}

}  // namespace

VcpuStats::VcpuStats(UniqueFd fd) : fd_(std::move(fd)) {
  kvm_stats_header header{};
  read_exactly(fd_.get(), &header, sizeof header, 0, "header");
  if (header.num_desc > kMaxDescriptors || header.name_size == 0 || header.name_size > kMaxNameBytes)
    throw HostError("KVM statistics: a header with " + std::to_string(header.num_desc) + " descriptors and names of " +
                    std::to_string(header.name_size) + " bytes");
  const std::size_t stride = kDescriptorFixedBytes + header.name_size;
  std::vector<std::uint8_t> table(header.num_desc * stride);
  read_exactly(fd_.get(), table.data(), table.size(), header.desc_offset, "descriptors");
  for (std::uint32_t i = 0; i < header.num_desc; ++i) {
    const std::uint8_t* entry = table.data() + i * stride;
    const char* name = reinterpret_cast<const char*>(entry + kDescriptorFixedBytes);
    descriptors_.push_back({std::string(name, ::strnlen(name, header.name_size)), field<std::uint32_t>(entry, 0),
                            field<std::int16_t>(entry, 4),
                            std::uint64_t{header.data_offset} + field<std::uint32_t>(entry, 8)});
  }
}

const VcpuStats::Descriptor* VcpuStats::find(std::string_view name) const {
  for (const auto& descriptor : descriptors_)
    if (descriptor.name == name) return &descriptor;
  return nullptr;
}

std::optional<std::uint64_t> VcpuStats::value(std::string_view name) const {
  const Descriptor* descriptor = find(name);
  if (!descriptor) return std::nullopt;
  std::uint64_t value = 0;
  if (::pread(fd_.get(), &value, sizeof value, static_cast<off_t>(descriptor->offset)) != sizeof value)
    return std::nullopt;
  return value;
}

std::optional<std::uint64_t> VcpuStats::nanoseconds(std::string_view name) const {
  const Descriptor* descriptor = find(name);
  if (!descriptor || (descriptor->flags & KVM_STATS_UNIT_MASK) != KVM_STATS_UNIT_SECONDS) return std::nullopt;
  // The value is in 10^exponent seconds (base 10; KVM uses -9 for its _ns counters).
  if ((descriptor->flags & KVM_STATS_BASE_MASK) != KVM_STATS_BASE_POW10 || descriptor->exponent < -9 ||
      descriptor->exponent > 0)
    return std::nullopt;
  auto raw = value(name);
  if (!raw) return std::nullopt;
  for (int power = -9; power < descriptor->exponent; ++power) *raw *= 10;
  return raw;
}

}  // namespace vmm
