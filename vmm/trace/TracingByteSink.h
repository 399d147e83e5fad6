#pragma once
// A ByteSink that counts the guest's serial output for the trace in batches
// (a record per line of text, or per 256 bytes), not one record per byte.

#include <cstdint>

#include "devices/ByteSink.h"
#include "vmm/trace/Tracer.h"

namespace vmm::trace {

class TracingByteSink final : public ByteSink {
 public:
  static constexpr std::uint64_t kBatchBytes = 256;

  explicit TracingByteSink(ByteSink& inner) : inner_(inner) {}

  // Called under the UART's lock, from whichever thread drives it.
  std::size_t write(std::span<const std::uint8_t> bytes) override {
    const std::size_t taken = inner_.write(bytes);
    for (std::size_t i = 0; i < taken; ++i)
      if (++pending_ >= kBatchBytes || bytes[i] == '\n') flush();
    return taken;
  }

  // What is left of the last line, once the UART is quiet (the end of the run).
  void flush() {
    if (pending_ == 0) return;
    Tracer::record({.start = Tracer::now_ns(), .a = pending_, .kind = RecordKind::SerialOut});
    pending_ = 0;
  }

 private:
  ByteSink& inner_;
  std::uint64_t pending_ = 0;
};

}  // namespace vmm::trace
