#pragma once
// A byte sink for tests and fuzzers: keeps every byte it takes and takes at most
// `room` more (SIZE_MAX: all of them), like an output buffer that can fill up.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "devices/ByteSink.h"

namespace vmm::testing {

class RecordingSink final : public ByteSink {
 public:
  std::size_t write(std::span<const std::uint8_t> bytes) override {
    const std::size_t taken = std::min(room, bytes.size());
    this->bytes.insert(this->bytes.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(taken));
    if (room != kUnlimited) room -= taken;
    return taken;
  }

  static constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
  std::vector<std::uint8_t> bytes;
  std::size_t room = kUnlimited;
};

}  // namespace vmm::testing
