// libFuzzer target for Pit8254 and SystemControlPort (port 0x61). The input is
// decoded into guest port accesses (any offset, in range or not, any width),
// control words, latch and read-back commands, port 0x61 reads and writes, and
// time: small steps that fire every deadline on the way, and huge jumps that
// model a stalled host (deadlines fire once, late). A shadow of each counter's
// programming and of its read protocol (status first, then latched count, then
// the live count, with the LSB/MSB flip-flops), kept by the Intel 8254
// datasheet's rules, tells what every byte read is; after each step:
//   - a status byte carries the programming (RW, M, BCD) in force when it was
//     latched; right after a control word, OUT is low in mode 0 and high in the
//     others and NULL COUNT is set;
//   - a latched count in modes 2 and 3 never exceeds the largest count loaded;
//     BCD counts are BCD;
//   - port 0x61 reads back the gate and bits 1-3 as written, bits 6-7 as 0, and
//     its OUT2 bit agrees with counter 2's status byte at the same instant;
//   - IRQ 0 rises once per edge the model counts, never more often than the
//     input clock, and once at most when the host catches up after a stall;
//   - once counter 0 is programmed (control word, then a full count) in mode 0
//     or 4, IRQ 0 rises exactly once, N to N+2 input clocks later; in mode 2 or
//     3, edges delivered plus edges counted as missed after a stall are the
//     periods elapsed (one clock of slack for the datasheet's load cycle).

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "../unit/FakeClock.h"
#include "FuzzCheck.h"
#include "devices/Pit8254.h"

namespace {

using vmm::Pit8254;
using vmm::SystemControlPort;
using vmm::testing::FakeClock;
using vmm::testing::RecordingIrqLine;

constexpr std::uint64_t kSecond = 1'000'000'000;
constexpr std::uint64_t kTimeLimit = std::uint64_t{1} << 62;  // keep the fake clock far from wrapping

std::uint64_t ns_to_ticks(std::uint64_t ns) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(ns) * Pit8254::kInputHz / kSecond);
}

bool is_bcd(std::uint8_t byte) { return (byte & 0x0f) <= 9 && (byte >> 4) <= 9; }

std::uint32_t initial_count(std::uint16_t raw, bool bcd) {
  if (!bcd) return raw == 0 ? 0x10000 : raw;
  if (raw == 0) return 10000;
  return (raw >> 12 & 0xf) * 1000 + (raw >> 8 & 0xf) * 100 + (raw >> 4 & 0xf) * 10 + (raw & 0xf);
}

struct CounterShadow {
  std::uint8_t access = 3;  // RW1-RW0 of the last control word (never 0)
  std::uint8_t mode_bits = 0;
  bool bcd = false;
  bool write_msb_next = false, read_msb_next = false;
  std::uint8_t pending_lsb = 0;
  bool fresh = true;  // no count loaded since the control word (true at power-on too)

  std::optional<std::uint8_t> status;  // latched status: RW, M, BCD bits expected
  bool status_fresh = false;           // latched while `fresh`

  bool count_latched = false, latched_msb_next = false;
  std::uint8_t latched_mode = 0;
  bool latched_bcd = false;
  std::uint8_t latched_lsb = 0;

  std::uint32_t max_count = 0x10000;  // largest initial count ever in force

  std::uint8_t programming() const {
    return static_cast<std::uint8_t>(access << 4 | mode_bits << 1 | (bcd ? 1 : 0));
  }
  std::uint8_t mode() const { return mode_bits > 5 ? mode_bits - 4 : mode_bits; }
  void latch_count() {
    if (count_latched) return;  // a second latch before the read is ignored
    count_latched = true;
    latched_msb_next = false;
    latched_mode = mode();
    latched_bcd = bcd;
  }
  void latch_status() {
    if (status) return;
    status = programming();
    status_fresh = fresh;
  }
  void load(std::uint16_t raw) {
    max_count = std::max(max_count, initial_count(raw, bcd));
    fresh = false;
  }
};

class Harness {
 public:
  Harness() : pit_(clock_, irq0_), port61_(pit_, clock_) {}

  void write(std::uint64_t offset, std::span<const std::uint8_t> data) {
    fuzz_trace("out  0x%llx width %zu value 0x%02x", static_cast<unsigned long long>(offset), data.size(),
               data.empty() ? 0 : data[0]);
    if (!data.empty() && offset < Pit8254::kPorts) shadow_write(static_cast<unsigned>(offset), data[0]);
    pit_.write(offset, data);
    check_edges();
  }
  void write_byte(unsigned offset, std::uint8_t value) { write(offset, std::span(&value, 1)); }

  // Returns the byte read (the first one of a wider access).
  std::uint8_t read(std::uint64_t offset, std::size_t width) {
    std::vector<std::uint8_t> data(width, 0x5a);
    pit_.read(offset, std::span(data));
    fuzz_trace("in   0x%llx width %zu -> 0x%02x", static_cast<unsigned long long>(offset), width,
               width ? data[0] : 0);
    const bool counter = width != 0 && offset < 3;
    for (std::size_t i = counter ? 1 : 0; i < width; ++i) FUZZ_CHECK(data[i] == 0xff);
    if (counter) check_counter_byte(static_cast<unsigned>(offset), data[0]);
    check_edges();
    return width ? data[0] : 0xff;
  }

  void write61(std::uint8_t value) {
    fuzz_trace("out  port 0x61 value 0x%02x", value);
    gate2_ = value & 0x01;
    stored61_ = value & 0x0e;
    port61_.write(0, std::span(&value, 1));
    check_edges();
  }
  std::uint8_t read61(std::size_t width) {
    std::vector<std::uint8_t> data(width, 0x5a);
    port61_.read(0, std::span(data));
    fuzz_trace("in   port 0x61 width %zu -> 0x%02x", width, width ? data[0] : 0);
    if (width == 0) return 0;
    FUZZ_CHECK((data[0] & 0x01) == (gate2_ ? 1 : 0));
    FUZZ_CHECK((data[0] & 0x0e) == stored61_);
    FUZZ_CHECK((data[0] & 0xc0) == 0);
    return data[0];
  }

  // Counter 2's status byte and port 0x61 bit 5 sampled at the same instant.
  void compare_out2() {
    if (shadow_[2].status) return;  // an older status would be read instead
    write_byte(3, 0xe8);  // read-back: status only, counter 2
    const std::uint8_t port = read61(1);
    const std::uint8_t status = read(2, 1);
    FUZZ_CHECK(bool(status & 0x80) == bool(port & 0x20));
  }

  // Counter 0 since its last control word and full count, when in mode 0, 2, 3 or 4.
  struct Irq0Timeline {
    bool active = false;
    std::uint64_t loaded_at = 0;
    std::uint64_t count = 0;
    std::uint8_t mode = 0;
    std::uint64_t edges_before = 0, missed_before = 0;
  };

  void advance(std::uint64_t ns) {
    if (clock_.now_ns() + ns >= kTimeLimit) return;
    const std::uint64_t edges = irq0_.rising_edges;
    fuzz_trace("advance %llu ns", static_cast<unsigned long long>(ns));
    clock_.advance(ns);
    // OUT0 cannot rise more often than once per input clock.
    FUZZ_CHECK(irq0_.rising_edges - edges <= ns_to_ticks(ns) + 2);
    check_edges();
  }

  void stall(std::uint64_t ns) {
    if (clock_.now_ns() + ns >= kTimeLimit) return;
    const std::uint64_t edges = irq0_.rising_edges;
    fuzz_trace("stall %llu ns", static_cast<unsigned long long>(ns));
    const std::size_t callbacks = clock_.jump_to(clock_.now_ns() + ns, 64);
    // One late timer callback delivers one edge and re-arms in the future.
    FUZZ_CHECK(callbacks <= 2);
    FUZZ_CHECK(irq0_.rising_edges - edges <= 1);
    check_edges();
  }

 private:
  void shadow_write(unsigned offset, std::uint8_t value) {
    if (offset < 3) {
      CounterShadow& c = shadow_[offset];
      std::optional<std::uint16_t> loaded;
      switch (c.access) {
        case 1: loaded = value; break;
        case 2: loaded = static_cast<std::uint16_t>(value << 8); break;
        default:
          if (!c.write_msb_next) {
            c.pending_lsb = value;
            c.write_msb_next = true;
          } else {
            c.write_msb_next = false;
            loaded = static_cast<std::uint16_t>(c.pending_lsb | value << 8);
          }
      }
      if (offset == 0) {
        // A count that starts counting at once: the first after a control word.
        const bool starts = loaded && c.fresh && c.mode() != 1 && c.mode() != 5;
        timeline_ = {};
        if (starts) {
          const Pit8254::Stats stats = pit_.stats();
          timeline_ = {true, clock_.now_ns(), initial_count(*loaded, c.bcd), c.mode(), irq0_.rising_edges,
                       stats.missed_edges};
        }
      }
      if (loaded) c.load(*loaded);
      return;
    }
    const unsigned select = value >> 6;
    if (select == 3) {  // read-back
      for (unsigned i = 0; i < 3; ++i) {
        if (!(value & (2u << i))) continue;
        if (!(value & 0x20)) shadow_[i].latch_count();
        if (!(value & 0x10)) shadow_[i].latch_status();
      }
      return;
    }
    CounterShadow& c = shadow_[select];
    const std::uint8_t access = (value >> 4) & 3;
    if (access == 0) {
      c.latch_count();
      return;
    }
    if (select == 0) timeline_ = {};
    // A control word leaves pending latches alone (as the model and QEMU do).
    c.access = access;
    c.mode_bits = (value >> 1) & 7;
    c.bcd = value & 1;
    c.write_msb_next = c.read_msb_next = false;
    c.fresh = true;
  }

  void check_counter_byte(unsigned index, std::uint8_t byte) {
    CounterShadow& c = shadow_[index];
    if (c.status) {
      FUZZ_CHECK((byte & 0x3f) == *c.status);
      if (c.status_fresh) {
        const std::uint8_t mode = (*c.status >> 1 & 7) > 5 ? (*c.status >> 1 & 7) - 4 : (*c.status >> 1 & 7);
        FUZZ_CHECK(bool(byte & 0x80) == (mode != 0));  // OUT after a control word
        FUZZ_CHECK(byte & 0x40);                       // NULL COUNT until a count is loaded
      }
      c.status.reset();
      return;
    }
    if (c.count_latched) {
      if (c.latched_bcd) FUZZ_CHECK(is_bcd(byte));
      if (c.access != 3) {
        c.count_latched = false;
        return;
      }
      if (!c.latched_msb_next) {
        c.latched_lsb = byte;
        c.latched_msb_next = true;
        return;
      }
      c.count_latched = false;
      const std::uint16_t raw = static_cast<std::uint16_t>(c.latched_lsb | byte << 8);
      if (c.latched_mode == 2 || c.latched_mode == 3) FUZZ_CHECK(initial_count(raw, c.latched_bcd) <= c.max_count);
      return;
    }
    if (c.bcd) FUZZ_CHECK(is_bcd(byte));
    if (c.access == 3) c.read_msb_next = !c.read_msb_next;
  }

  void check_edges() {
    const Pit8254::Stats stats = pit_.stats();
    FUZZ_CHECK(stats.irq_edges == irq0_.rising_edges);  // every edge the model counts reaches the line
    FUZZ_CHECK(stats.missed_edges >= last_missed_);
    last_missed_ = stats.missed_edges;
    if (!timeline_.active) return;
    const std::uint64_t ticks = ns_to_ticks(clock_.now_ns() - timeline_.loaded_at);
    const std::uint64_t delivered = irq0_.rising_edges - timeline_.edges_before;
    const std::uint64_t missed = stats.missed_edges - timeline_.missed_before;
    const std::uint64_t n = timeline_.count;
    if (timeline_.mode == 0 || timeline_.mode == 4) {
      FUZZ_CHECK(missed == 0);
      if (ticks < n) FUZZ_CHECK(delivered == 0);
      if (ticks >= n + 2) FUZZ_CHECK(delivered == 1);
      FUZZ_CHECK(delivered <= 1);
    } else {
      const std::uint64_t periods = ticks / n;
      const std::uint64_t periods_late = ticks == 0 ? 0 : (ticks - 1) / n;
      FUZZ_CHECK(delivered + missed <= periods);
      FUZZ_CHECK(delivered + missed >= periods_late);
    }
  }

  FakeClock clock_;
  RecordingIrqLine irq0_;
  Pit8254 pit_;
  SystemControlPort port61_;
  CounterShadow shadow_[3];
  bool gate2_ = false;
  std::uint8_t stored61_ = 0;
  std::uint64_t last_missed_ = 0;
  Irq0Timeline timeline_;
};

std::uint64_t pick_offset(FuzzedDataProvider& in) {
  const std::uint8_t choice = in.ConsumeIntegral<std::uint8_t>();
  if (choice < 220) return choice % 4;           // the four ports
  if (choice < 245) return 4 + choice % 8;       // just past the range
  return in.ConsumeIntegral<std::uint64_t>();    // anywhere
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Harness harness;
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange<int>(0, 11)) {
      case 0:
      case 1: {  // raw write, usually one byte
        const std::uint64_t offset = pick_offset(in);
        const std::size_t width = in.ConsumeBool() ? 1 : in.ConsumeIntegralInRange<std::size_t>(0, 3);
        harness.write(offset, in.ConsumeBytes<std::uint8_t>(width));
        break;
      }
      case 2:
      case 3: {  // raw read
        const std::uint64_t offset = pick_offset(in);
        harness.read(offset, in.ConsumeBool() ? 1 : in.ConsumeIntegralInRange<std::size_t>(0, 3));
        break;
      }
      case 4: harness.write_byte(3, in.ConsumeIntegral<std::uint8_t>()); break;  // any control word or command
      case 5: {  // program a counter: control word then a full count
        const unsigned counter = in.ConsumeIntegralInRange<unsigned>(0, 2);
        const std::uint8_t control = static_cast<std::uint8_t>(counter << 6 | 0x30 |
                                                               in.ConsumeIntegralInRange<unsigned>(0, 15));
        harness.write_byte(3, control);
        harness.write_byte(counter, in.ConsumeIntegral<std::uint8_t>());
        harness.write_byte(counter, in.ConsumeIntegral<std::uint8_t>());
        break;
      }
      case 6: {  // latch a counter and read both bytes
        const unsigned counter = in.ConsumeIntegralInRange<unsigned>(0, 2);
        harness.write_byte(3, static_cast<std::uint8_t>(counter << 6));
        harness.read(counter, 1);
        harness.read(counter, 1);
        break;
      }
      case 7: harness.advance(in.ConsumeIntegralInRange<std::uint64_t>(0, 100'000)); break;
      case 8: harness.advance(in.ConsumeIntegralInRange<std::uint64_t>(0, 2'000'000)); break;
      case 9: {  // a stalled host: seconds to years
        const int shift = in.ConsumeIntegralInRange<int>(20, 58);
        harness.stall(in.ConsumeIntegralInRange<std::uint64_t>(0, std::uint64_t{1} << shift));
        break;
      }
      case 10: {
        if (in.ConsumeBool())
          harness.write61(in.ConsumeIntegral<std::uint8_t>());
        else
          harness.read61(in.ConsumeIntegralInRange<std::size_t>(0, 2));
        break;
      }
      case 11: harness.compare_out2(); break;
    }
  }
  return 0;
}
