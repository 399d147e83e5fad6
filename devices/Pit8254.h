#pragma once
// Intel 8254 Programmable Interval Timer, as wired on a PC: three counters fed by
// a 1.193182 MHz clock; counter 0's OUT drives IRQ0, counter 2's gate and OUT
// are reached through port 0x61 (see SystemControlPort).
//
// Conformance (Intel 8254 datasheet, order no. 231164):
//   implemented  control word (SC, RW, M, BCD); counter latch command; read-back
//                command with status byte (OUT, NULL COUNT, RW, M, BCD); access
//                modes LSB, MSB, LSB-then-MSB with separate read and write
//                flip-flops; modes 0-5 (6 and 7 alias 2 and 3); initial count 0
//                meaning 65536 (10000 BCD); BCD counting; the new-count rules of
//                each mode (0/4: at once, 2/3: at the end of the current period,
//                1/5: at the next gate trigger); gate edges for counter 2;
//                unlatched reads of the live count.
//   simplified   counting starts on the write of the last count byte instead of
//                the next CLK pulse (one input clock, 838 ns, earlier); in modes
//                0 and 4 a low gate does not suspend counting; mode 3 switches to
//                a new count at the end of a full period rather than a half one.
//   ignored      the gates of counters 0 and 1 (wired high on a PC).
// Counters are computed from the injected clock at read time; a host timer is
// armed only for counter 0's next OUT rising edge, at an absolute deadline.
//
// IRQ0 delivery has two policies. Pulse: one edge per OUT rising edge; edges
// that fall due while the host timer is late collapse into one, as they would
// in the PIC's IRR. Reinject (when the machine can tell us the guest's EOI, as
// KVM's in-kernel PIT does): IRQ0 is raised and held until the EOI; edges due
// meanwhile are counted and delivered one per EOI, so a late host wakeup delays
// ticks but never loses them (at most kMaxReinjected are kept). An EOI that
// has not come kLostEoiPeriods periods after the raise is taken as lost: the
// guest masked IRQ0 or reset its PIC with the edge pending, as Linux does
// when it moves the timer from the 8259 to the IOAPIC. KVM's in-kernel PIT
// learns that from its mask notifier, which user space does not have; this
// PIT lowers the line and raises it afresh instead (counted in lost_eois),
// so the guest that unmasks IRQ0 gets its ticks again. Each such retraction
// costs the host two KVM_IRQFD ioctls, so a guest that never acknowledges
// (interrupts off, tiny divisors) must not buy one per period: every lost EOI
// in a row doubles the wait for the next, up to kMaxLostEoiWaitNs, and the
// guest's next EOI starts over. Linux's check_timer loses one EOI, once.
// A host that was late (a loaded machine) must not take for lost an EOI
// whose notification is only queued behind the late deadline: the verdict
// waits for the timer's next round, after what is queued has run.
// Nor does the host timer wake for every edge that can only be dropped: with
// kMaxReinjected ticks owed and the line still waiting, it sleeps until the
// EOI would count as lost, and the edges in between are counted in bulk.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "devices/BusDevice.h"
#include "devices/Clock.h"
#include "irq/IrqLine.h"

namespace vmm {

class Pit8254 final : public BusDevice {
 public:
  static constexpr std::uint64_t kInputHz = 1'193'182;
  static constexpr std::uint64_t kPorts = 4;  // 0x40-0x43

  // Register offsets from the base port (0x40).
  enum class Reg : std::uint8_t {
    Counter0 = 0,  // rw
    Counter1 = 1,  // rw
    Counter2 = 2,  // rw
    Control = 3,   // w-  control word, counter latch and read-back commands
  };

  enum class Irq0Delivery { Pulse, Reinject };
  static constexpr std::uint64_t kMaxReinjected = 1000;
  static constexpr std::uint64_t kLostEoiPeriods = 2;
  // The longest a guest that unmasks IRQ0 after a long masked spell waits
  // for its ticks; also, with the doubling, what bounds the retractions to a
  // few dozen whatever the guest does.
  static constexpr std::uint64_t kMaxLostEoiWaitNs = 100'000'000;

  Pit8254(Clock& clock, IrqLine& irq0, Irq0Delivery delivery = Irq0Delivery::Pulse);

  // Reinject: the guest acknowledged IRQ0 (its EOI reached the interrupt controller).
  void irq0_acknowledged();
  ~Pit8254() override;

  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

  // Counter 2's gate input and OUT, for port 0x61.
  struct Counter2Pins {
    bool gate;
    bool out;
  };
  void set_gate2(bool high);
  Counter2Pins counter2_pins();

  // Counter 0 OUT rising edges delivered as IRQ0 pulses, and edges that fell due
  // while an earlier one was still being delivered (the host timer fired late).
  struct Stats {
    std::uint64_t irq_edges = 0;
    std::uint64_t missed_edges = 0;      // Pulse: lost; Reinject: delivered late
    std::uint64_t dropped_reinjects = 0; // Reinject: beyond kMaxReinjected
    std::uint64_t lost_eois = 0;         // Reinject: raised afresh after kLostEoiPeriods without an EOI
  };
  Stats stats() const;

 private:
  struct Counter {
    std::uint8_t mode = 0;       // 0-5, with 6 and 7 folded onto 2 and 3
    std::uint8_t mode_bits = 0;  // M2-M0 as programmed, for the status byte
    bool bcd = false;
    std::uint8_t access = 3;      // RW bits: 1 LSB, 2 MSB, 3 LSB then MSB
    bool write_msb_next = false;  // write flip-flop
    bool read_msb_next = false;   // read flip-flop
    std::uint8_t pending_lsb = 0;
    std::uint32_t count = 0x10000;           // initial count in effect, 1..65536 (or 10000 BCD)
    std::optional<std::uint32_t> new_count;  // written, waiting for its mode's load point
    std::uint64_t new_count_load_ns = 0;     // modes 2 and 3: end of the period in progress
    bool counting = false;                   // a count has been loaded since the control word
    bool triggered = false;                  // modes 1 and 5: a gate trigger started the count
    std::uint64_t load_ns = 0;               // when the count in effect started counting
    bool gate = true;
    bool null_count = true;
    std::optional<std::uint16_t> latched_count;
    bool latched_msb_next = false;
    std::optional<std::uint8_t> latched_status;
  };

  static std::uint64_t elapsed_ticks(const Counter& counter, std::uint64_t now);
  static void apply_new_count(Counter& counter, std::uint64_t now);
  static std::uint32_t current_count(Counter& counter, std::uint64_t now);
  static bool out_level(Counter& counter, std::uint64_t now);
  static std::optional<std::uint64_t> next_rising_edge_ns(Counter& counter, std::uint64_t now);
  static std::uint8_t status_byte(Counter& counter, std::uint64_t now);

  void write_control(std::uint8_t value, std::uint64_t now);
  static void write_count_byte(Counter& counter, std::uint8_t value, std::uint64_t now);
  static void load_count(Counter& counter, std::uint16_t raw, std::uint64_t now);
  static std::uint8_t read_counter(Counter& counter, std::uint64_t now);
  static void latch_count(Counter& counter, std::uint64_t now);

  void reschedule_irq0(std::uint64_t now);
  void on_irq0_deadline();
  void deliver_irq0_edges(std::uint64_t edges, std::uint64_t now);
  // Reinject: how long an EOI may take before it counts as lost.
  std::uint64_t lost_eoi_wait_ns(const Counter& counter) const;
  bool lost_eoi_due(std::uint64_t now) const;
  // Reinject: IRQ0 raised and in service from `now`.
  void raise_irq0(std::uint64_t now);
  // Reinject: the line is down; the next owed tick, if any, goes up at `now`.
  void raise_owed_tick(std::uint64_t now);
  // Withdraws the line in service and raises it afresh for an owed tick.
  void take_eoi_as_lost(std::uint64_t now);
  // Reinject: the line waits for its EOI with kMaxReinjected ticks owed, so
  // edges now can only be dropped; the timer then wakes for the lost-EOI check.
  bool deferring_edges() const;
  // Counter 0's edges from irq0_next_edge_ns_ to `now`, that one included.
  std::uint64_t edges_due(std::uint64_t now);
  // While deferring: counts the edges since irq0_next_edge_ns_ as dropped.
  void drop_deferred_edges(std::uint64_t now);

  mutable std::mutex mutex_;  // the device lock: vCPU threads and the event loop
  Clock& clock_;
  IrqLine& irq0_;
  std::unique_ptr<DeadlineTimer> irq0_timer_;
  Counter counters_[3];
  Irq0Delivery delivery_;
  std::uint64_t irq0_next_edge_ns_ = 0;  // the next edge not yet delivered or counted; 0 when the timer is disarmed
  std::uint64_t irq0_wake_ns_ = 0;       // when the timer is armed for: that edge, or later while deferring
  bool irq0_in_service_ = false;         // Reinject: raised, waiting for the EOI
  std::uint64_t irq0_raised_ns_ = 0;     // Reinject: when the line in service was raised
  std::uint64_t irq0_owed_ = 0;          // Reinject: edges due while in service
  unsigned lost_eois_in_a_row_ = 0;      // Reinject: since the last EOI; doubles the next wait
  bool lost_eoi_suspected_ = false;      // Reinject: the wait ran out; decided at the next wakeup
  Stats stats_;
};

// Port 0x61, system control port B: bit 0 counter 2 gate, bit 1 speaker data
// enable (stored, no sound), bits 2-3 stored, bit 4 toggles with the 15.085 us
// memory-refresh clock, bit 5 counter 2 OUT. Bits 6-7 (parity and I/O channel
// errors) read 0.
class SystemControlPort final : public BusDevice {
 public:
  SystemControlPort(Pit8254& pit, const Clock& clock) : pit_(pit), clock_(clock) {}
  void read(std::uint64_t offset, std::span<std::uint8_t> data) override;
  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override;

 private:
  Pit8254& pit_;
  const Clock& clock_;
  std::atomic<std::uint8_t> stored_bits_{0};  // bits 1-3 as last written; any vCPU may write
};

}  // namespace vmm
