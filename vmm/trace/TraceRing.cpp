#include "vmm/trace/TraceRing.h"

#include <bit>
#include <cstdlib>
#include <new>

namespace vmm::trace {

namespace {

constexpr std::size_t kMinRecords = 64;

std::size_t records_for(std::size_t bytes) {
  const std::size_t fit = bytes / sizeof(Record);
  return fit < kMinRecords ? kMinRecords : std::bit_floor(fit);
}

}  // namespace

TraceRing::TraceRing(std::size_t bytes) : mask_(records_for(bytes) - 1) {
  // calloc: fresh zero pages from the kernel, so the bound is what the ring
  // may grow to, and a quiet ring costs little more than its first page.
  auto* block = static_cast<Record*>(std::calloc(capacity(), sizeof(Record)));
  if (!block) throw std::bad_alloc();
  records_.reset(block);
}

}  // namespace vmm::trace
