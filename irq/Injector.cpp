#include "irq/Injector.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace vmm {

namespace {

constexpr std::uint64_t kBucketNs = 100;
constexpr std::size_t kBuckets = 100'000;  // up to 10 ms in 100 ns steps

std::uint64_t percentile(const std::vector<std::uint32_t>& histogram, std::uint64_t samples, double fraction) {
  const auto wanted = static_cast<std::uint64_t>(fraction * static_cast<double>(samples) + 0.5);
  std::uint64_t seen = 0;
  for (std::size_t bucket = 0; bucket < histogram.size(); ++bucket) {
    seen += histogram[bucket];
    if (seen >= std::max<std::uint64_t>(wanted, 1)) return bucket * kBucketNs;
  }
  return (histogram.size() - 1) * kBucketNs;
}

}  // namespace

void Injector::Histogram::add(std::uint64_t ns) {
  if (buckets_.empty()) buckets_.assign(kBuckets, 0);
  ++buckets_[std::min<std::uint64_t>(ns / kBucketNs, kBuckets - 1)];
  ++samples_;
  max_ns_ = std::max(max_ns_, ns);
}

Injector::Latency Injector::Histogram::summary() const {
  Latency latency;
  latency.samples = samples_;
  latency.max_ns = max_ns_;
  if (samples_ == 0) return latency;
  latency.p50_ns = percentile(buckets_, samples_, 0.50);
  latency.p99_ns = percentile(buckets_, samples_, 0.99);
  for (std::size_t bucket = 0; bucket < buckets_.size(); ++bucket)
    if (buckets_[bucket] != 0) latency.histogram.emplace_back(bucket * kBucketNs, buckets_[bucket]);
  return latency;
}

Injector::Injector(Clock& clock, std::vector<Line> lines, unsigned vcpus) : clock_(clock) {
  for (auto& line : lines) {
    LineState state;
    state.line = std::move(line);
    state.stats.name = state.line.name;
    state.stats.gsi = state.line.gsi;
    state.stats.delivered_by_vcpu.assign(vcpus, 0);
    lines_.push_back(std::move(state));
  }
}

Injector::~Injector() {
  std::lock_guard lock(mutex_);
  bursts_.clear();
}

int Injector::find(std::string_view name_or_gsi) const {
  for (std::size_t i = 0; i < lines_.size(); ++i)
    if (lines_[i].line.name == name_or_gsi) return static_cast<int>(i);
  std::uint32_t gsi = 0;
  const auto [end, error] = std::from_chars(name_or_gsi.data(), name_or_gsi.data() + name_or_gsi.size(), gsi);
  if (error != std::errc() || end != name_or_gsi.data() + name_or_gsi.size()) return -1;
  for (std::size_t i = 0; i < lines_.size(); ++i)
    if (lines_[i].line.gsi == gsi) return static_cast<int>(i);
  return -1;
}

void Injector::schedule(std::string_view line, std::uint64_t count, std::uint64_t interval_ns,
                        std::uint64_t start_ns, Pacing pacing) {
  const int index = find(line);
  if (index < 0) throw std::invalid_argument("no interrupt line \"" + std::string(line) + "\"");
  if (count == 0) throw std::invalid_argument("count must be at least 1");
  if (count > 1 && interval_ns == 0) throw std::invalid_argument("a burst of several needs an interval");
  std::lock_guard lock(mutex_);
  std::erase_if(bursts_, [](const auto& burst) { return burst->remaining == 0; });
  auto burst = std::make_unique<Burst>(Burst{static_cast<std::size_t>(index), count, interval_ns, start_ns, pacing, false, nullptr});
  Burst* raw = burst.get();
  burst->timer = clock_.make_timer([this, raw] { fire(*raw); });
  lines_[raw->line].stats.pending += count;
  burst->timer->arm(start_ns);
  bursts_.push_back(std::move(burst));
}

void Injector::fire(Burst& burst) {
  std::lock_guard lock(mutex_);
  if (burst.remaining == 0 || burst.awaiting_acknowledgement) return;  // the acknowledgement re-arms
  LineState& state = lines_[burst.line];
  // Deadlines are absolute: a late wakeup fires what fell due and keeps the
  // schedule, so bursts never drift.
  const std::uint64_t now = clock_.now_ns();
  for (unsigned injected = 0; burst.remaining > 0 && burst.next_ns <= now; ++injected) {
    if (injected == kMaxInjectionsPerTurn) {
      burst.timer->arm(burst.next_ns);  // in the past: runs again after what else the loop has to do
      return;
    }
    inject_once(state);
    --burst.remaining;
    --state.stats.pending;
    burst.next_ns += burst.interval_ns;
    if (burst.pacing == Pacing::AfterAcknowledgement) {
      burst.awaiting_acknowledgement = true;
      return;
    }
  }
  if (burst.remaining > 0) burst.timer->arm(burst.next_ns);
}

void Injector::inject_once(LineState& state) {
  ++state.stats.injected;
  ++state.outstanding;
  state.last_injection_ns = clock_.now_ns();
  bool coalesced = false;
  if (state.line.trigger == Trigger::Edge) {
    state.line.irq->pulse();
    state.answered_seq = state.stats.injected;
  } else if (state.asserted) {
    ++state.stats.coalesced;
    coalesced = true;
  } else {
    state.asserted = true;
    state.line.irq->raise();
    state.answered_seq = state.stats.injected;
  }
  if (observer_)
    observer_->injected(static_cast<std::size_t>(&state - lines_.data()), state.stats.injected,
                        state.last_injection_ns, clock_.now_ns(), coalesced);
}

Injector::Acknowledgement Injector::acknowledge(std::uint32_t gsi, std::optional<std::uint32_t> vcpu) {
  std::lock_guard lock(mutex_);
  for (std::size_t index = 0; index < lines_.size(); ++index) {
    LineState& state = lines_[index];
    if (state.line.gsi != gsi) continue;
    // A level line that is not up had nothing to service. An edge leaves no
    // such trace: one injected between the guest taking the interrupt and
    // acknowledging it is delivered again after the EOI, so every
    // acknowledgement of an edge line counts as a delivery.
    if (state.line.trigger == Trigger::Level && !state.asserted) {
      ++state.stats.spurious;
      if (observer_) observer_->acknowledged(index, Acknowledgement::Spurious, state.answered_seq, 0, vcpu);
      return Acknowledgement::Spurious;
    }
    ++state.stats.delivered;
    if (vcpu) {
      auto& by_vcpu = state.stats.delivered_by_vcpu;
      if (*vcpu >= by_vcpu.size()) by_vcpu.resize(*vcpu + 1, 0);  // more vCPUs than the machine said: still counted
      ++by_vcpu[*vcpu];
    }
    if (state.outstanding == 1) state.latency.add(clock_.now_ns() - state.last_injection_ns);
    ++state.unmarked;
    state.acknowledged_injection_ns =
        state.outstanding == 1 ? std::optional<std::uint64_t>(state.last_injection_ns) : std::nullopt;
    // One acknowledgement serves everything injected so far: what was injected
    // before it and not acknowledged separately was coalesced into it.
    if (observer_)
      observer_->acknowledged(index, Acknowledgement::Delivered, state.answered_seq,
                              state.line.trigger == Trigger::Edge && state.outstanding > 1 ? state.outstanding - 1 : 0,
                              vcpu);
    state.outstanding = 0;
    if (state.line.trigger == Trigger::Level) {
      state.asserted = false;
      state.line.irq->lower();
    }
    for (auto& burst : bursts_) {
      if (burst->line != index || !burst->awaiting_acknowledgement) continue;
      burst->awaiting_acknowledgement = false;
      if (burst->remaining > 0) burst->timer->arm(burst->next_ns);  // on the event loop, not this vCPU thread
    }
    return Acknowledgement::Delivered;
  }
  ++stray_acknowledgements_;
  return Acknowledgement::NotALine;
}

bool Injector::wake_mark(std::uint32_t gsi) {
  std::lock_guard lock(mutex_);
  for (auto& state : lines_) {
    if (state.line.gsi != gsi) continue;
    ++state.stats.wake_marks;
    // With more than one acknowledgement unanswered (the task was woken again
    // before it ran, or fell behind), this mark answers an older one whose
    // injection time is gone: no sample, as for coalesced injections above.
    if (state.unmarked == 1 && state.acknowledged_injection_ns)
      state.wake_latency.add(clock_.now_ns() - *state.acknowledged_injection_ns);
    if (state.unmarked > 0) --state.unmarked;
    return true;
  }
  ++stray_wake_marks_;
  return false;
}

std::vector<Injector::LineStats> Injector::stats() const {
  std::lock_guard lock(mutex_);
  std::vector<LineStats> result;
  for (const auto& state : lines_) {
    LineStats stats = state.stats;
    stats.latency = state.latency.summary();
    stats.wake_latency = state.wake_latency.summary();
    if (state.line.trigger == Trigger::Edge && stats.injected > stats.delivered)
      stats.coalesced = stats.injected - stats.delivered;
    result.push_back(stats);
  }
  return result;
}

std::uint64_t Injector::stray_acknowledgements() const {
  std::lock_guard lock(mutex_);
  return stray_acknowledgements_;
}

std::uint64_t Injector::stray_wake_marks() const {
  std::lock_guard lock(mutex_);
  return stray_wake_marks_;
}

}  // namespace vmm
