#pragma once
// One host trace record: fixed size, trivially copyable, written by the thread
// that saw the event into its own ring and turned into trace-event JSON later,
// on the event loop (TraceWriter). The fields mean what `kind` says.

#include <cstdint>
#include <type_traits>

namespace vmm::trace {

enum class RecordKind : std::uint16_t {
  KvmRun,       // start: KVM_RUN entered; a: it returned; end: exit handled. sub: exit reason;
                // b: port or MMIO address; c: size | direction << 8 (1 out/write) | count << 16
  Paused,       // [start, end) a vCPU held out of KVM_RUN; sub: 0 pause, 1 debugger
  PitDeadline,  // start: the deadline the PIT asked for; end: when its timer really ran
  Edge,         // a rising edge on a device line (track)
  Level,        // a level change on a device line (track); a: the new level
  SerialOut,    // a: bytes the guest wrote to the UART since the last record
  SerialIn,     // a: bytes of input that reached the UART
  DebugExit,    // a: the value written
  I8042Reset,
  Inject,       // [start, end): the eventfd write; track: the line; a: seq (1-based); b: 1 if coalesced
  Acknowledge,  // track: the line; a: the seq it answers; b: 1 delivered, 0 spurious; c: earlier ones it coalesced
  Resample,     // track: the line; the guest's EOI of a level line, seen by the host
  Control,      // [start, end): a control request handled; a: index into the request names
  GuestSync,    // start: host time of the sync exit; a: the guest's TSC stored for it
  AcpiPowerOff, // the guest entered S5 through PM1a_CNT
};

struct Record {
  std::uint64_t start = 0;  // CLOCK_MONOTONIC ns
  std::uint64_t end = 0;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::uint64_t c = 0;
  RecordKind kind{};
  std::uint16_t sub = 0;
  std::uint32_t track = 0;  // the vCPU, the device line or the scripted line, by kind
};

static_assert(std::is_trivially_copyable_v<Record> && sizeof(Record) == 48);

}  // namespace vmm::trace
