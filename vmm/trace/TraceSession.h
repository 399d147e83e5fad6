#pragma once
// One --trace run: the host's per-thread rings (Tracer), the guest kernel's
// rings once it registers them (GuestTraceReader), the drain that turns both
// into JSON every few milliseconds on the event loop (TraceWriter), and the
// mapping of the guest's TSC to the host's clock.
//
// Time: the guest stamps its events with its TSC. When it registers, and
// again at the end of its run, it stores its TSC and writes the sync port;
// vmm pairs that value with its own clock at that exit. Guest times are
// mapped as host_ns = sync_host_ns + (tsc - sync_tsc) / tsc_khz, with KVM's
// TSC frequency for the vCPU (KVM_GET_TSC_KHZ). The error of one pairing is
// at most the time from the guest's rdtsc to the host's clock read (about
// one exit); the end-of-run sync measures the drift of the rate over the run,
// and each acknowledgement of a scripted line, seen both by the host (the
// port write) and by the guest (after the write returns), measures how far
// apart the two clocks are while the run goes on. docs/tracing.md.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "irq/Injector.h"
#include "vmm/GuestMemory.h"
#include "vmm/trace/TraceWriter.h"
#include "vmm/trace/TracedIrqLine.h"
#include "vmm/trace/Tracer.h"
#include "vmm/trace/TracingByteSink.h"
#include "vmm/trace/TracingClock.h"

namespace vmm::trace {

class GuestTraceReader;

class TraceSession final : public Injector::Observer {
 public:
  struct Setup {
    std::filesystem::path file;
    std::size_t buffer_bytes = 0;
    std::uint32_t tsc_khz = 0;  // the vCPUs' TSC frequency; 0: unknown (guest events are then dropped)
    TraceWriter::Layout layout;
  };

  // Opens (creates, truncates) the file now; throws InputError naming it.
  TraceSession(Setup setup, const GuestMemory& memory, boost::asio::io_context& io);
  ~TraceSession() override;

  Tracer& tracer() { return tracer_; }
  // Once the vCPUs exist, before start().
  void set_tsc_khz(std::uint32_t khz) { setup_.tsc_khz = khz; }

  // On the event-loop thread: its ring, and the periodic drain.
  void start();
  // After every other thread that records has stopped: the last drain, the
  // footer, and one line on stderr with what was written and dropped.
  void finish();

  // The guest kernel's side (port 0x524/0x528), on its vCPU's thread. False
  // when the area is refused (the reason went to stderr, once).
  bool guest_registered(std::uint64_t address);
  void guest_sync();

  // Control requests, on the event loop.
  void control_request(std::size_t kind, std::uint64_t start_ns, std::uint64_t end_ns);

  void injected(std::size_t line, std::uint64_t seq, std::uint64_t start_ns, std::uint64_t end_ns,
                bool coalesced) override;
  void acknowledged(std::size_t line, Injector::Acknowledgement found, std::uint64_t seq, std::uint64_t coalesced,
                    std::optional<std::uint32_t> vcpu) override;

  // For `stats`: events written and dropped so far.
  nlohmann::json stats() const;

  // Stand-ins for a device's line, output or clock that record what passes
  // through them. Owned here, so they live as long as anything that records;
  // finish() flushes the outputs' pending bytes first.
  IrqLine& tap(IrqLine& line, TracedIrqLine::Style style, std::uint32_t track);
  ByteSink& tap(ByteSink& sink);
  Clock& tap(Clock& clock);

 private:
  struct Sync {
    std::uint64_t tsc;
    std::uint64_t host_ns;
  };

  // `last`: the run is over, write everything.
  void drain(bool last);
  void schedule_drain();
  void host_record(const Record& record);
  std::uint64_t guest_to_host(std::uint64_t tsc) const;
  nlohmann::json other_data() const;

  Setup setup_;
  const GuestMemory& memory_;
  std::uint64_t origin_ns_;
  Tracer tracer_;
  TraceWriter writer_;
  boost::asio::steady_timer timer_;
  mutable std::mutex guest_mutex_;  // registration (a vCPU thread) against the drain (the event loop)
  std::unique_ptr<GuestTraceReader> guest_;
  bool refusal_reported_ = false;
  std::vector<Sync> syncs_;  // event loop only
  // Guest events read but not written yet: the rings are read one after the
  // other, so the newest events wait a drain to be merged in time order.
  struct GuestEvent {
    std::uint64_t host_ns;
    unsigned cpu;
    trace_event event;
  };
  std::vector<GuestEvent> guest_pending_;
  std::vector<Record> host_batch_;
  std::optional<std::int64_t> drift_ns_;
  bool finished_ = false;
  std::vector<std::unique_ptr<TracedIrqLine>> tapped_lines_;
  std::vector<std::unique_ptr<TracingByteSink>> tapped_sinks_;
  std::vector<std::unique_ptr<TracingClock>> tapped_clocks_;
};

}  // namespace vmm::trace
