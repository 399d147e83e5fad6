#pragma once
// The host end of the guest's trace rings (abi/trace.h): given
// the area's guest-physical address, validates its header once and then drains
// every CPU's ring on request, as the single consumer that owns each ring's tail.
// Pure: no KVM, no threads; one caller at a time (the guest's vCPUs are the
// producers, running concurrently). The guest is untrusted: what it writes is
// bounds-checked, a ring whose head and tail disagree is counted and resynchronised,
// nothing outside the area is ever read.

#include <cstdint>
#include <functional>
#include <vector>

#include "abi/trace.h"
#include "vmm/GuestMemory.h"

namespace vmm::trace {

class GuestTraceReader {
 public:
  struct RingCounters {
    std::uint64_t events_read = 0;  // events passed to drain's callback
    std::uint64_t ring_errors = 0;  // drains that found head < tail or head - tail > entries
    std::uint64_t dropped = 0;      // the guest's own count of events it had no room for (last drain)
  };

  using EventCallback = std::function<void(unsigned cpu, const trace_event& event)>;

  // Throws std::invalid_argument, naming the address and the field, when the area
  // is not entirely in RAM, not 8-byte aligned, or its magic, version, ncpus (1 to
  // TRACE_MAX_CPUS) or entries (TRACE_RING_ENTRIES) are wrong. ncpus is read here
  // once: a guest that changes it later changes nothing.
  GuestTraceReader(const GuestMemory& memory, std::uint64_t area_address);

  std::uint64_t address() const { return address_; }
  unsigned ncpus() const { return static_cast<unsigned>(rings_.size()); }

  // Reads each ring once: head (acquire), the events from our tail up to it, in
  // ring order, each passed to callback(cpu, event), then the new tail (release).
  // Returns the number of events passed on.
  std::uint64_t drain(const EventCallback& callback);

  // The TSC the guest stored before its latest TRACE_SYNC write.
  std::uint64_t sync_tsc() const;

  const RingCounters& ring(unsigned cpu) const { return rings_.at(cpu).counters; }
  std::uint64_t events_read() const;
  std::uint64_t ring_errors() const;
  std::uint64_t dropped() const;

 private:
  struct Ring {
    std::uint8_t* base;  // host address of struct trace_ring
    std::uint64_t tail;  // ours: the guest's copy is written, never trusted
    RingCounters counters;
  };

  std::uint64_t address_;
  std::uint8_t* area_;
  std::vector<Ring> rings_;
};

}  // namespace vmm::trace
