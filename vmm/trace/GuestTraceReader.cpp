#include "vmm/trace/GuestTraceReader.h"

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "vmm/Hex.h"

namespace vmm::trace {
namespace {

static_assert(offsetof(trace_ring, head) % 8 == 0 && offsetof(trace_ring, tail) % 8 == 0 &&
              offsetof(trace_ring, dropped) % 8 == 0 && offsetof(trace_area, sync_tsc) % 8 == 0 &&
              sizeof(trace_ring) % 8 == 0 && offsetof(trace_area, rings) % 8 == 0);

// The guest writes these while we read: atomic accesses on the shared memory.
std::atomic_ref<std::uint64_t> shared_u64(std::uint8_t* p) {
  return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(p));
}

std::uint32_t read_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[noreturn]] void invalid(std::uint64_t address, const std::string& what) {
  throw std::invalid_argument("trace area at " + hex(address) + ": " + what);
}

}  // namespace

GuestTraceReader::GuestTraceReader(const GuestMemory& memory, std::uint64_t area_address)
    : address_(area_address) {
  if (area_address % std::atomic_ref<std::uint64_t>::required_alignment != 0)
    invalid(area_address, "not 8-byte aligned");
  auto span = memory.host_span(area_address, sizeof(trace_area));
  if (span.empty())
    invalid(area_address, "its " + std::to_string(sizeof(trace_area)) + " bytes are not all in guest RAM");
  area_ = span.data();

  const std::uint32_t magic = read_u32(area_ + offsetof(trace_area, magic));
  const std::uint32_t version = read_u32(area_ + offsetof(trace_area, version));
  const std::uint32_t ncpus = read_u32(area_ + offsetof(trace_area, ncpus));
  const std::uint32_t entries = read_u32(area_ + offsetof(trace_area, entries));
  if (magic != TRACE_AREA_MAGIC) invalid(area_address, "bad magic " + hex(magic) + ", expected " + hex(TRACE_AREA_MAGIC));
  if (version != TRACE_ABI_VERSION)
    invalid(area_address, "ABI version " + std::to_string(version) + ", expected " + std::to_string(TRACE_ABI_VERSION));
  if (ncpus < 1 || ncpus > TRACE_MAX_CPUS)
    invalid(area_address, "ncpus " + std::to_string(ncpus) + " outside 1.." + std::to_string(TRACE_MAX_CPUS));
  if (entries != TRACE_RING_ENTRIES)
    invalid(area_address, "entries " + std::to_string(entries) + ", expected " + std::to_string(TRACE_RING_ENTRIES));

  rings_.reserve(ncpus);
  for (unsigned cpu = 0; cpu < ncpus; ++cpu) {
    std::uint8_t* base = area_ + offsetof(trace_area, rings) + cpu * sizeof(trace_ring);
    rings_.push_back({base, shared_u64(base + offsetof(trace_ring, tail)).load(std::memory_order_relaxed), {}});
  }
}

std::uint64_t GuestTraceReader::drain(const EventCallback& callback) {
  std::uint64_t total = 0;
  for (unsigned cpu = 0; cpu < rings_.size(); ++cpu) {
    Ring& ring = rings_[cpu];
    // Acquire: the events below head are complete (the guest stores head with release).
    const std::uint64_t head = shared_u64(ring.base + offsetof(trace_ring, head)).load(std::memory_order_acquire);
    ring.counters.dropped = shared_u64(ring.base + offsetof(trace_ring, dropped)).load(std::memory_order_relaxed);
    if (head < ring.tail || head - ring.tail > TRACE_RING_ENTRIES) {
      ++ring.counters.ring_errors;  // a guest that scribbled on head: skip to it, read nothing
    } else {
      const std::uint8_t* events = ring.base + offsetof(trace_ring, events);
      for (std::uint64_t seq = ring.tail; seq != head; ++seq) {
        trace_event event;
        std::memcpy(&event, events + (seq % TRACE_RING_ENTRIES) * sizeof(trace_event), sizeof event);
        callback(cpu, event);
        ++ring.counters.events_read;
        ++total;
      }
    }
    ring.tail = head;
    // Release: our copies are done before the guest may reuse the slots.
    shared_u64(ring.base + offsetof(trace_ring, tail)).store(head, std::memory_order_release);
  }
  return total;
}

std::uint64_t GuestTraceReader::sync_tsc() const {
  return shared_u64(area_ + offsetof(trace_area, sync_tsc)).load(std::memory_order_acquire);
}

std::uint64_t GuestTraceReader::events_read() const {
  std::uint64_t n = 0;
  for (const auto& ring : rings_) n += ring.counters.events_read;
  return n;
}

std::uint64_t GuestTraceReader::ring_errors() const {
  std::uint64_t n = 0;
  for (const auto& ring : rings_) n += ring.counters.ring_errors;
  return n;
}

std::uint64_t GuestTraceReader::dropped() const {
  std::uint64_t n = 0;
  for (const auto& ring : rings_) n += ring.counters.dropped;
  return n;
}

}  // namespace vmm::trace
