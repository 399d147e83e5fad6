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
//
// A guest task that an interrupt woke can also say so, at the wake mark port,
// the moment it runs: each wake mark answers the oldest acknowledgement not yet
// answered (the guest wakes one waiter per delivered interrupt, in order), and
// times the whole path from the injection to the woken task (ISR, wake-up,
// scheduling, the return to the task) next to the injection-to-ISR latency.

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

  // A latency distribution, in nanoseconds.
  struct Latency {
    std::uint64_t samples = 0;
    std::uint64_t p50_ns = 0;
    std::uint64_t p99_ns = 0;
    std::uint64_t max_ns = 0;
    // The distribution behind the percentiles: (bucket start in ns, samples)
    // for the non-empty 100 ns buckets, in order; the last bucket is open-ended.
    std::vector<std::pair<std::uint64_t, std::uint32_t>> histogram;
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
    // to the guest handler's port write.
    Latency latency;
    // Injection to wake mark, for wake marks that answer the only unanswered
    // acknowledgement, itself of a single injection: host eventfd write to the
    // woken task's port write.
    Latency wake_latency;
    std::uint64_t wake_marks = 0;
  };

  // Fixed: every injection at its deadline, whether or not the guest has
  // serviced the one before (a burst faster than the guest coalesces).
  // AfterAcknowledgement: also never while the previous injection on the line
  // is unacknowledged, as a device that raises its next interrupt only once the
  // driver has cleared the last; the guest's speed then cannot coalesce.
  enum class Pacing { Fixed, AfterAcknowledgement };
  // A request's wait_for_ack (config, control socket) as its pacing.
  static Pacing pacing_for(bool wait_for_ack) { return wait_for_ack ? Pacing::AfterAcknowledgement : Pacing::Fixed; }

  // What an acknowledgement found, as the ack port reads it back to the guest.
  enum class Acknowledgement { Delivered, Spurious, NotALine };

  // A burst whose interval is shorter than an injection costs falls further
  // behind with every catch-up; one timer callback injects at most this many
  // and re-arms at once, so the event loop (and the control socket, the PIT,
  // the vCPUs' acknowledgements, which share the lock) gets a turn between
  // batches instead of waiting for the whole burst.
  static constexpr unsigned kMaxInjectionsPerTurn = 256;

  // What a trace records of the injector's work (vmm/trace). Called with the
  // injector's lock held, on the thread that did the work: keep it short.
  class Observer {
   public:
    virtual ~Observer() = default;
    // The `seq`-th injection (from 1) into line `line` (its index), whose
    // eventfd write ran from `start_ns` to `end_ns`; `coalesced` when a level
    // line was still up, so nothing was written.
    virtual void injected(std::size_t line, std::uint64_t seq, std::uint64_t start_ns, std::uint64_t end_ns,
                          bool coalesced) = 0;
    // An acknowledgement of `line`, which answers injection `seq` (an edge
    // line's latest, the one that raised a level line) and, on an edge line,
    // coalesced `coalesced` injections before it.
    virtual void acknowledged(std::size_t line, Acknowledgement found, std::uint64_t seq, std::uint64_t coalesced,
                              std::optional<std::uint32_t> vcpu) = 0;
  };

  Injector(Clock& clock, std::vector<Line> lines, unsigned vcpus = 1);
  ~Injector();

  // Before the first schedule(); `observer` outlives the injector.
  void set_observer(Observer* observer) { observer_ = observer; }

  // A line by name, or by GSI written as a number; -1 when there is none.
  int find(std::string_view name_or_gsi) const;

  // `count` injections `interval_ns` apart, the first at `start_ns` (absolute,
  // on the injector's clock). Throws std::invalid_argument naming the problem.
  void schedule(std::string_view line, std::uint64_t count, std::uint64_t interval_ns, std::uint64_t start_ns,
                Pacing pacing = Pacing::Fixed);

  // The guest acknowledged `gsi` at the device, from vCPU `vcpu` when known. A
  // GSI that is not a scripted line is counted apart, as a stray acknowledgement.
  Acknowledgement acknowledge(std::uint32_t gsi, std::optional<std::uint32_t> vcpu = std::nullopt);

  // A guest task woken by `gsi`'s interrupt runs again. False (and counted
  // apart) when `gsi` is not a scripted line.
  bool wake_mark(std::uint32_t gsi);

  std::vector<LineStats> stats() const;
  std::uint64_t stray_acknowledgements() const;
  std::uint64_t stray_wake_marks() const;

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
  // 100 ns buckets up to 10 ms, the last one open-ended; allocated at the first sample.
  class Histogram {
   public:
    void add(std::uint64_t ns);
    Latency summary() const;

   private:
    std::vector<std::uint32_t> buckets_;
    std::uint64_t samples_ = 0;
    std::uint64_t max_ns_ = 0;
  };
  struct LineState {
    Line line;
    bool asserted = false;
    LineStats stats;
    std::uint64_t last_injection_ns = 0;
    std::uint64_t outstanding = 0;  // injected since the last acknowledgement
    // The injection an acknowledgement answers: an edge line's latest, or the
    // one that raised a level line (the later ones were coalesced into it).
    std::uint64_t answered_seq = 0;
    Histogram latency;
    std::uint64_t unmarked = 0;  // acknowledgements no wake mark has answered yet
    // The injection the last acknowledgement answered, when it was a single one.
    std::optional<std::uint64_t> acknowledged_injection_ns;
    Histogram wake_latency;
  };

  void fire(Burst& burst);
  void inject_once(LineState& state);

  Clock& clock_;
  mutable std::mutex mutex_;  // vCPU threads acknowledge while the event loop injects
  std::vector<LineState> lines_;
  std::vector<std::unique_ptr<Burst>> bursts_;  // finished ones are reaped on the next schedule()
  std::uint64_t stray_acknowledgements_ = 0;
  std::uint64_t stray_wake_marks_ = 0;
  Observer* observer_ = nullptr;
};

}  // namespace vmm
