#include "devices/Pit8254.h"

#include <algorithm>

namespace vmm {

namespace {

constexpr std::uint64_t kNsPerSecond = 1'000'000'000;

// Control word fields (port 0x43).
constexpr std::uint8_t kSelectShift = 6;       // SC1-SC0: counter, or 3 for read-back
constexpr std::uint8_t kAccessShift = 4;       // RW1-RW0: 0 latch, 1 LSB, 2 MSB, 3 LSB then MSB
constexpr std::uint8_t kModeShift = 1;         // M2-M0
constexpr std::uint8_t kBcd = 0x01;            // BCD counting
constexpr std::uint8_t kReadBackNoCount = 0x20;   // read-back: COUNT# (0 = latch the count)
constexpr std::uint8_t kReadBackNoStatus = 0x10;  // read-back: STATUS# (0 = latch the status)

// Status byte (read-back).
constexpr std::uint8_t kStatusOut = 0x80;
constexpr std::uint8_t kStatusNullCount = 0x40;

// Rounded up, so that at the returned time at least `ticks` input clocks have passed.
std::uint64_t ticks_to_ns(std::uint64_t ticks) {
  return static_cast<std::uint64_t>(
      (static_cast<unsigned __int128>(ticks) * kNsPerSecond + Pit8254::kInputHz - 1) / Pit8254::kInputHz);
}

std::uint64_t ns_to_ticks(std::uint64_t ns) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(ns) * Pit8254::kInputHz / kNsPerSecond);
}

std::uint32_t from_bcd(std::uint16_t raw) {
  return (raw >> 12 & 0xf) * 1000 + (raw >> 8 & 0xf) * 100 + (raw >> 4 & 0xf) * 10 + (raw & 0xf);
}

std::uint16_t to_bcd(std::uint32_t value) {
  return static_cast<std::uint16_t>((value / 1000 % 10) << 12 | (value / 100 % 10) << 8 | (value / 10 % 10) << 4 |
                                    (value % 10));
}

bool triggered_by_gate(std::uint8_t mode) { return mode == 1 || mode == 5; }
bool periodic(std::uint8_t mode) { return mode == 2 || mode == 3; }

}  // namespace

Pit8254::Pit8254(Clock& clock, IrqLine& irq0, Irq0Delivery delivery)
    : clock_(clock), irq0_(irq0), delivery_(delivery) {
  irq0_timer_ = clock_.make_timer([this] { on_irq0_deadline(); });
  // Counters 0 and 1 have their gates tied high on a PC; counter 2's gate comes
  // from port 0x61, which powers up with bit 0 clear.
  counters_[2].gate = false;
}

Pit8254::~Pit8254() {
  std::lock_guard lock(mutex_);
  irq0_timer_.reset();
}

std::uint64_t Pit8254::elapsed_ticks(const Counter& counter, std::uint64_t now) {
  return now > counter.load_ns ? ns_to_ticks(now - counter.load_ns) : 0;
}

void Pit8254::apply_new_count(Counter& counter, std::uint64_t now) {
  if (!counter.new_count || !periodic(counter.mode) || now < counter.new_count_load_ns) return;
  counter.count = *counter.new_count;
  counter.load_ns = counter.new_count_load_ns;
  counter.new_count.reset();
  counter.null_count = false;
}

std::uint32_t Pit8254::current_count(Counter& counter, std::uint64_t now) {
  apply_new_count(counter, now);
  const std::uint32_t count = counter.count;
  if (!counter.counting || (triggered_by_gate(counter.mode) && !counter.triggered) ||
      (periodic(counter.mode) && !counter.gate))
    return count;
  const std::uint64_t d = elapsed_ticks(counter, now);
  switch (counter.mode) {
    case 2: return count - static_cast<std::uint32_t>(d % count);
    case 3: return count - static_cast<std::uint32_t>((2 * d) % count);
    default: {
      // Modes 0, 1, 4, 5 keep decrementing past zero, wrapping at the counter's width.
      const std::uint64_t modulus = counter.bcd ? 10000 : 65536;
      return static_cast<std::uint32_t>((count + modulus - d % modulus) % modulus);
    }
  }
}

bool Pit8254::out_level(Counter& counter, std::uint64_t now) {
  apply_new_count(counter, now);
  if (!counter.counting) return counter.mode != 0;  // mode 0 sets OUT low on the control word
  if (triggered_by_gate(counter.mode) && !counter.triggered) return true;
  if (periodic(counter.mode) && !counter.gate) return true;
  const std::uint64_t d = elapsed_ticks(counter, now);
  const std::uint64_t count = counter.count;
  switch (counter.mode) {
    case 0:
    case 1: return d >= count;
    case 2: return count == 1 || d % count != count - 1;  // low for the one clock at count 1
    case 3: return d % count < (count + 1) / 2;            // high for the first half, rounded up
    default: return d != count;                            // 4, 5: one clock low at terminal count
  }
}

std::optional<std::uint64_t> Pit8254::next_rising_edge_ns(Counter& counter, std::uint64_t now) {
  apply_new_count(counter, now);
  if (!counter.counting || (triggered_by_gate(counter.mode) && !counter.triggered)) return std::nullopt;
  if (periodic(counter.mode) && !counter.gate) return std::nullopt;
  const std::uint64_t d = elapsed_ticks(counter, now);
  const std::uint64_t count = counter.count;
  std::uint64_t edge_tick;
  switch (counter.mode) {
    case 0:
    case 1:
      if (d >= count) return std::nullopt;
      edge_tick = count;
      break;
    case 2:
    case 3: edge_tick = (d / count + 1) * count; break;
    default:
      if (d >= count + 1) return std::nullopt;
      edge_tick = count + 1;
      break;
  }
  return counter.load_ns + ticks_to_ns(edge_tick);
}

std::uint8_t Pit8254::status_byte(Counter& counter, std::uint64_t now) {
  std::uint8_t status = static_cast<std::uint8_t>(counter.access << kAccessShift | counter.mode_bits << kModeShift |
                                                  (counter.bcd ? kBcd : 0));
  if (out_level(counter, now)) status |= kStatusOut;
  if (counter.null_count) status |= kStatusNullCount;
  return status;
}

void Pit8254::latch_count(Counter& counter, std::uint64_t now) {
  if (counter.latched_count) return;  // a second latch before the read is ignored
  const std::uint32_t count = current_count(counter, now);
  counter.latched_count = counter.bcd ? to_bcd(count) : static_cast<std::uint16_t>(count);
  counter.latched_msb_next = false;
}

void Pit8254::write_control(std::uint8_t value, std::uint64_t now) {
  const std::uint8_t select = value >> kSelectShift;
  if (select == 3) {  // read-back command
    for (unsigned i = 0; i < 3; ++i) {
      if (!(value & (2u << i))) continue;
      Counter& counter = counters_[i];
      if (!(value & kReadBackNoCount)) latch_count(counter, now);
      if (!(value & kReadBackNoStatus) && !counter.latched_status)
        counter.latched_status = status_byte(counter, now);
    }
    return;
  }
  Counter& counter = counters_[select];
  const std::uint8_t access = (value >> kAccessShift) & 3;
  if (access == 0) {  // counter latch command
    latch_count(counter, now);
    return;
  }
  if (select == 0) irq0_owed_ = 0;  // reprogrammed: ticks of the old setting are not owed
  counter.mode_bits = (value >> kModeShift) & 7;
  counter.mode = counter.mode_bits > 5 ? counter.mode_bits - 4 : counter.mode_bits;
  counter.bcd = value & kBcd;
  counter.access = access;
  counter.write_msb_next = false;
  counter.read_msb_next = false;
  counter.counting = false;
  counter.triggered = false;
  counter.new_count.reset();
  counter.null_count = true;
}

void Pit8254::load_count(Counter& counter, std::uint16_t raw, std::uint64_t now) {
  const std::uint32_t count = counter.bcd ? (raw == 0 ? 10000 : from_bcd(raw)) : (raw == 0 ? 0x10000 : raw);
  counter.null_count = true;
  const bool waits_for_period_end = periodic(counter.mode) && counter.counting && counter.gate;
  if (waits_for_period_end) {
    const std::uint64_t d = elapsed_ticks(counter, now);
    if (!counter.new_count)
      counter.new_count_load_ns = counter.load_ns + ticks_to_ns((d / counter.count + 1) * counter.count);
    counter.new_count = count;
    return;
  }
  if (triggered_by_gate(counter.mode) && counter.counting) {
    counter.new_count = count;  // takes effect at the next trigger
    return;
  }
  counter.count = count;
  counter.load_ns = now;
  counter.counting = true;
  counter.null_count = triggered_by_gate(counter.mode);
}

void Pit8254::write_count_byte(Counter& counter, std::uint8_t value, std::uint64_t now) {
  switch (counter.access) {
    case 1: load_count(counter, value, now); break;
    case 2: load_count(counter, static_cast<std::uint16_t>(value << 8), now); break;
    default:
      if (!counter.write_msb_next) {
        counter.pending_lsb = value;
        counter.write_msb_next = true;
        if (counter.mode == 0) counter.counting = false;  // the first byte stops a mode 0 count
      } else {
        counter.write_msb_next = false;
        load_count(counter, static_cast<std::uint16_t>(counter.pending_lsb | value << 8), now);
      }
  }
}

std::uint8_t Pit8254::read_counter(Counter& counter, std::uint64_t now) {
  if (counter.latched_status) {
    const std::uint8_t status = *counter.latched_status;
    counter.latched_status.reset();
    return status;
  }
  auto pick = [&](std::uint16_t value, bool& msb_next, bool release_after_msb) -> std::uint8_t {
    switch (counter.access) {
      case 1: return value & 0xff;
      case 2: return value >> 8;
      default:
        if (msb_next) {
          msb_next = false;
          if (release_after_msb) counter.latched_count.reset();
          return value >> 8;
        }
        msb_next = true;
        return value & 0xff;
    }
  };
  if (counter.latched_count) {
    const std::uint16_t value = *counter.latched_count;
    const std::uint8_t byte = pick(value, counter.latched_msb_next, true);
    if (counter.access != 3) counter.latched_count.reset();
    return byte;
  }
  const std::uint32_t count = current_count(counter, now);
  return pick(counter.bcd ? to_bcd(count) : static_cast<std::uint16_t>(count), counter.read_msb_next, false);
}

void Pit8254::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::fill(data.begin(), data.end(), 0xff);
  if (data.empty() || offset >= static_cast<std::uint64_t>(Reg::Control)) return;  // the control port is write-only
  std::lock_guard lock(mutex_);
  data[0] = read_counter(counters_[offset], clock_.now_ns());
}

void Pit8254::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (data.empty() || offset >= kPorts) return;
  std::lock_guard lock(mutex_);
  const std::uint64_t now = clock_.now_ns();
  drop_deferred_edges(now);  // against the count they fell due under
  if (offset == static_cast<std::uint64_t>(Reg::Control))
    write_control(data[0], now);
  else
    write_count_byte(counters_[offset], data[0], now);
  reschedule_irq0(now);
}

void Pit8254::set_gate2(bool high) {
  std::lock_guard lock(mutex_);
  Counter& counter = counters_[2];
  const std::uint64_t now = clock_.now_ns();
  if (high && !counter.gate && counter.counting) {
    if (triggered_by_gate(counter.mode)) {
      if (counter.new_count) counter.count = *counter.new_count;
      counter.new_count.reset();
      counter.triggered = true;
      counter.null_count = false;
      counter.load_ns = now;
    } else if (periodic(counter.mode)) {
      apply_new_count(counter, now);
      counter.load_ns = now;  // a rising gate reloads the initial count
    }
  }
  counter.gate = high;
}

Pit8254::Counter2Pins Pit8254::counter2_pins() {
  std::lock_guard lock(mutex_);
  Counter& counter = counters_[2];
  return {counter.gate, out_level(counter, clock_.now_ns())};
}

Pit8254::Stats Pit8254::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Pit8254::reschedule_irq0(std::uint64_t now) {
  const auto edge = next_rising_edge_ns(counters_[0], now);
  if (!edge) {
    if (irq0_next_edge_ns_ != 0) irq0_timer_->disarm();
    irq0_next_edge_ns_ = 0;
    return;
  }
  std::uint64_t wake = *edge;
  if (deferring_edges()) wake = std::max(wake, irq0_raised_ns_ + lost_eoi_wait_ns(counters_[0]));
  if (lost_eoi_suspected_) wake = now;
  if (*edge == irq0_next_edge_ns_ && wake == irq0_wake_ns_) return;
  irq0_next_edge_ns_ = *edge;
  irq0_wake_ns_ = wake;
  irq0_timer_->arm(wake);
}

bool Pit8254::deferring_edges() const {
  return delivery_ == Irq0Delivery::Reinject && irq0_in_service_ && irq0_owed_ >= kMaxReinjected &&
         periodic(counters_[0].mode);
}

std::uint64_t Pit8254::edges_due(std::uint64_t now) {
  Counter& counter = counters_[0];
  if (!periodic(counter.mode) || counter.load_ns > irq0_next_edge_ns_) return 1;
  const std::uint64_t count = counter.count;
  const std::uint64_t due = elapsed_ticks(counter, irq0_next_edge_ns_) / count;
  const std::uint64_t passed = elapsed_ticks(counter, now) / count;
  return 1 + (passed > due ? passed - due : 0);
}

void Pit8254::drop_deferred_edges(std::uint64_t now) {
  if (!deferring_edges() || irq0_next_edge_ns_ == 0 || now < irq0_next_edge_ns_) return;
  stats_.dropped_reinjects += edges_due(now);
  irq0_next_edge_ns_ = 0;  // counted; the caller reschedules from now
}

void Pit8254::on_irq0_deadline() {
  std::lock_guard lock(mutex_);
  if (irq0_next_edge_ns_ == 0) return;
  const std::uint64_t now = clock_.now_ns();
  if (now < irq0_wake_ns_) {  // early wakeup: wait for the real deadline
    irq0_timer_->arm(irq0_wake_ns_);
    return;
  }
  if (lost_eoi_suspected_) {
    lost_eoi_suspected_ = false;
    if (irq0_in_service_ && lost_eoi_due(now)) take_eoi_as_lost(now);
  }
  if (now >= irq0_next_edge_ns_) {
    const std::uint64_t edges = edges_due(now);
    // Deferred edges were never due a wakeup of their own: not late, just dropped.
    if (!deferring_edges()) stats_.missed_edges += edges - 1;
    deliver_irq0_edges(edges, now);
    irq0_next_edge_ns_ = 0;
  }
  reschedule_irq0(now);
}

void Pit8254::deliver_irq0_edges(std::uint64_t edges, std::uint64_t now) {
  if (delivery_ == Irq0Delivery::Pulse) {
    irq0_.pulse();
    ++stats_.irq_edges;
    return;
  }
  // The guest's EOI may have come while this thread was late, its
  // notification queued behind this deadline: decide once what is queued has
  // run (reschedule_irq0 wakes at once), not now.
  if (irq0_in_service_ && lost_eoi_due(now)) lost_eoi_suspected_ = true;
  if (!irq0_in_service_) {
    raise_irq0(now);
    --edges;
  }
  const std::uint64_t kept = std::min(edges, kMaxReinjected - std::min(irq0_owed_, kMaxReinjected));
  irq0_owed_ += kept;
  stats_.dropped_reinjects += edges - kept;
}

bool Pit8254::lost_eoi_due(std::uint64_t now) const {
  const Counter& counter = counters_[0];
  return periodic(counter.mode) && now - irq0_raised_ns_ >= lost_eoi_wait_ns(counter);
}

void Pit8254::raise_irq0(std::uint64_t now) {
  irq0_in_service_ = true;
  irq0_raised_ns_ = now;
  irq0_.raise();
  ++stats_.irq_edges;
}

void Pit8254::raise_owed_tick(std::uint64_t now) {
  irq0_in_service_ = false;
  if (irq0_owed_ == 0) return;  // the next edge raises it
  --irq0_owed_;
  raise_irq0(now);
}

void Pit8254::take_eoi_as_lost(std::uint64_t now) {
  ++stats_.lost_eois;
  ++lost_eois_in_a_row_;
  irq0_.retract();
  raise_owed_tick(now);
}

std::uint64_t Pit8254::lost_eoi_wait_ns(const Counter& counter) const {
  // Half a period short, so the rounding of deadlines to nanoseconds cannot
  // put the kLostEoiPeriods-th edge after the raise just below it.
  const std::uint64_t first = ticks_to_ns(counter.count * (2 * kLostEoiPeriods - 1) / 2);
  if (first >= kMaxLostEoiWaitNs) return first;
  const unsigned doublings = std::min(lost_eois_in_a_row_, 63u);
  if (first > (kMaxLostEoiWaitNs >> doublings)) return kMaxLostEoiWaitNs;
  return first << doublings;
}

void Pit8254::irq0_acknowledged() {
  std::lock_guard lock(mutex_);
  if (delivery_ != Irq0Delivery::Reinject || !irq0_in_service_) return;
  const std::uint64_t now = clock_.now_ns();
  drop_deferred_edges(now);
  lost_eois_in_a_row_ = 0;
  lost_eoi_suspected_ = false;
  irq0_.lower();
  raise_owed_tick(now);
  reschedule_irq0(now);  // per-edge wakeups again, once below kMaxReinjected
}

void SystemControlPort::read(std::uint64_t, std::span<std::uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  if (data.empty()) return;
  const auto pins = pit_.counter2_pins();
  constexpr std::uint64_t kRefreshPeriodNs = 15'085;
  const bool refresh = (clock_.now_ns() / kRefreshPeriodNs) & 1;
  data[0] = static_cast<std::uint8_t>((pins.gate ? 0x01 : 0) | (stored_bits_.load() & 0x0e) | (refresh ? 0x10 : 0) |
                                      (pins.out ? 0x20 : 0));
}

void SystemControlPort::write(std::uint64_t, std::span<const std::uint8_t> data) {
  if (data.empty()) return;
  stored_bits_ = data[0] & 0x0e;
  pit_.set_gate2(data[0] & 0x01);
}

}  // namespace vmm
