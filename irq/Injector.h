#pragma once
// Scripted interrupt injection: bursts of assertions on named lines at absolute
// deadlines, and the accounting of what the guest acknowledged. Edge lines get a
// pulse per injection. Level lines are raised and stay asserted, as a device
// keeps its line up, until the guest acknowledges at the device (the ack port);
// an injection into a line that is still up is coalesced with it.
//
// Accounting method: the guest's handler acknowledges every interrupt it takes
// through the ack port and reads back whether the device had anything pending,
// as a driver on a shared or level line reads its status register. "delivered"
// is the acknowledgements that found something pending, which is also what the
// guest counts; "spurious" the ones that found nothing (a level line re-raised
// by a resample that came before the guest's EOI). Once the guest has caught
// up, injected = delivered + coalesced. For level lines coalescing is seen
// directly (the line was still up); for edge lines it is injected minus
// delivered, since an edge that arrives while the previous one is still pending
// in the PIC's IRR or the LAPIC's leaves no trace the host can read.
//
// Deliveries are also counted by the vCPU whose handler acknowledged them (the
// ack port's write arrives on that vCPU's thread), which shows where the
// guest's IOAPIC or MSI routing actually sent each line.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "devices/Clock.h"
#include "irq/InterruptLines.h"
#include "irq/IrqLine.h"

namespace vmm {

class Injector {
 public:
  struct Line {
    std::string name;
    std::uint32_t gsi;
    Trigger trigger;
    IrqLine* irq;  // owned by the machine
  };

  struct LineStats {
    std::string name;
    std::uint32_t gsi = 0;
    std::uint64_t injected = 0;
    std::uint64_t delivered = 0;  // acknowledged by the guest
    std::uint64_t coalesced = 0;  // level lines: injected while still asserted
    std::uint64_t spurious = 0;   // acknowledged with nothing pending
    std::uint64_t pending = 0;    // scheduled, not fired yet
    std::vector<std::uint64_t> delivered_by_vcpu;  // deliveries, by the vCPU that acknowledged them
    // Injection to acknowledgement, for acknowledgements that answer a single
    // outstanding injection (so the pairing is unambiguous): host eventfd write
    // to the guest handler's port write, in nanoseconds.
    std::uint64_t latency_samples = 0;
    std::uint64_t latency_p50_ns = 0;
    std::uint64_t latency_p99_ns = 0;
    std::uint64_t latency_max_ns = 0;
    // The distribution behind the percentiles: (bucket start in ns, samples)
    // for the non-empty 100 ns buckets, in order; the last bucket is open-ended.
    std::vector<std::pair<std::uint64_t, std::uint32_t>> latency_histogram;
  };

  // Fixed: every injection at its deadline, whether or not the guest has
  // serviced the one before (a burst faster than the guest coalesces).
  // AfterAcknowledgement: also never while the previous injection on the line
  // is unacknowledged, as a device that raises its next interrupt only once the
  // driver has cleared the last; the guest's speed then cannot coalesce.
  enum class Pacing { Fixed, AfterAcknowledgement };

  // What an acknowledgement found, as the ack port reads it back to the guest.
  enum class Acknowledgement { Delivered, Spurious, NotALine };

  Injector(Clock& clock, std::vector<Line> lines, unsigned vcpus = 1);
  ~Injector();

  // A line by name, or by GSI written as a number; -1 when there is none.
  int find(std::string_view name_or_gsi) const;

  // `count` injections `interval_ns` apart, the first at `start_ns` (absolute,
  // on the injector's clock). Throws std::invalid_argument naming the problem.
  void schedule(std::string_view line, std::uint64_t count, std::uint64_t interval_ns, std::uint64_t start_ns,
                Pacing pacing = Pacing::Fixed);

  // The guest acknowledged `gsi` at the device, from vCPU `vcpu` when known. A
  // GSI that is not a scripted line is counted apart, as a stray acknowledgement.
  Acknowledgement acknowledge(std::uint32_t gsi, std::optional<std::uint32_t> vcpu = std::nullopt);

  std::vector<LineStats> stats() const;
  std::uint64_t stray_acknowledgements() const;

 private:
  struct Burst {
    std::size_t line;
    std::uint64_t remaining;
    std::uint64_t interval_ns;
    std::uint64_t next_ns;
    Pacing pacing;
    bool awaiting_acknowledgement = false;
    std::unique_ptr<DeadlineTimer> timer;
  };
  struct LineState {
    Line line;
    bool asserted = false;
    LineStats stats;
    std::uint64_t last_injection_ns = 0;
    std::uint64_t outstanding = 0;  // injected since the last acknowledgement
    std::vector<std::uint32_t> latency_histogram;  // 100 ns buckets, last one open-ended
  };

  void fire(Burst& burst);
  void inject_once(LineState& state);

  Clock& clock_;
  mutable std::mutex mutex_;  // vCPU threads acknowledge while the event loop injects
  std::vector<LineState> lines_;
  std::vector<std::unique_ptr<Burst>> bursts_;  // finished ones are reaped on the next schedule()
  std::uint64_t stray_acknowledgements_ = 0;
};

}  // namespace vmm
