#include "vmm/trace/TraceSession.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "vmm/Errors.h"
#include "vmm/trace/GuestTraceReader.h"

namespace vmm::trace {

namespace {

constexpr auto kDrainPeriod = std::chrono::milliseconds(10);
// Longer than a guest CPU takes from its rdtsc to publishing the event.
constexpr auto kGuestHoldBack = std::chrono::nanoseconds(std::chrono::milliseconds(2));

UniqueFd open_trace_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) throw InputError("trace file " + path.string() + ": cannot create it: " + std::strerror(errno));
  return fd;
}

}  // namespace

TraceSession::TraceSession(Setup setup, const GuestMemory& memory, boost::asio::io_context& io)
    : setup_(std::move(setup)),
      memory_(memory),
      origin_ns_(Tracer::now_ns()),
      tracer_(setup_.buffer_bytes, setup_.layout.vcpus),
      writer_(open_trace_file(setup_.file), setup_.layout, origin_ns_),
      timer_(io) {}

TraceSession::~TraceSession() { Tracer::bind_current_thread(nullptr); }

void TraceSession::start() {
  Tracer::bind_current_thread(&tracer_.event_loop_ring());
  schedule_drain();
}

void TraceSession::schedule_drain() {
  timer_.expires_after(kDrainPeriod);
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || finished_) return;
    drain(false);
    schedule_drain();
  });
}

void TraceSession::host_record(const Record& record) {
  if (record.kind == RecordKind::GuestSync) {
    const Sync sync{record.a, record.start};
    nlohmann::json args = {{"guest_tsc", sync.tsc}, {"host_ns", sync.host_ns - origin_ns_}};
    if (!syncs_.empty() && setup_.tsc_khz) {
      // Where the first sync and KVM's TSC rate put this one, against where it was.
      drift_ns_ = static_cast<std::int64_t>(sync.host_ns) - static_cast<std::int64_t>(guest_to_host(sync.tsc));
      args["drift_ns"] = *drift_ns_;
    }
    syncs_.push_back(sync);
    writer_.guest_note(record.start, "time sync", args);
    return;
  }
  writer_.host(record);
}

std::uint64_t TraceSession::guest_to_host(std::uint64_t tsc) const {
  const Sync& base = syncs_.front();
  const __int128 cycles = static_cast<__int128>(tsc) - static_cast<__int128>(base.tsc);
  const __int128 ns = static_cast<__int128>(base.host_ns) + cycles * 1'000'000 / setup_.tsc_khz;
  return ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
}

void TraceSession::drain(bool last) {
  const std::uint64_t started = Tracer::now_ns();
  // Host rings first: every guest acknowledgement read below then finds the
  // host's record of the same port write already in.
  // In time order across the rings, as the writer pairs and clamps them.
  host_batch_.clear();
  tracer_.drain([this](const Record& record) { host_batch_.push_back(record); });
  std::stable_sort(host_batch_.begin(), host_batch_.end(),
                   [](const Record& a, const Record& b) { return a.start < b.start; });
  for (const Record& record : host_batch_) host_record(record);
  {
    std::lock_guard lock(guest_mutex_);
    if (guest_ && !syncs_.empty() && setup_.tsc_khz)
      guest_->drain([this](unsigned cpu, const trace_event& event) {
        guest_pending_.push_back({guest_to_host(event.tsc), cpu, event});
      });
  }
  // Every CPU's events up to a little before this drain began were in its
  // ring when it was read: those go out merged by time, the rest wait.
  std::stable_sort(guest_pending_.begin(), guest_pending_.end(),
                   [](const GuestEvent& a, const GuestEvent& b) { return a.host_ns < b.host_ns; });
  const std::uint64_t cutoff = last ? UINT64_MAX : started - kGuestHoldBack.count();
  std::size_t written = 0;
  for (; written < guest_pending_.size() && guest_pending_[written].host_ns <= cutoff; ++written)
    writer_.guest(guest_pending_[written].cpu, guest_pending_[written].event, guest_pending_[written].host_ns);
  guest_pending_.erase(guest_pending_.begin(), guest_pending_.begin() + static_cast<std::ptrdiff_t>(written));
  writer_.flush();
}

IrqLine& TraceSession::tap(IrqLine& line, TracedIrqLine::Style style, std::uint32_t track) {
  return *tapped_lines_.emplace_back(std::make_unique<TracedIrqLine>(line, style, track));
}

ByteSink& TraceSession::tap(ByteSink& sink) {
  return *tapped_sinks_.emplace_back(std::make_unique<TracingByteSink>(sink));
}

Clock& TraceSession::tap(Clock& clock) { return *tapped_clocks_.emplace_back(std::make_unique<TracingClock>(clock)); }

void TraceSession::finish() {
  if (finished_) return;
  for (auto& sink : tapped_sinks_) sink->flush();
  drain(true);
  finished_ = true;
  timer_.cancel();
  writer_.finish(Tracer::now_ns(), other_data());
  const auto& counts = writer_.counts();
  std::uint64_t guest_dropped = 0;
  {
    std::lock_guard lock(guest_mutex_);
    if (guest_) guest_dropped = guest_->dropped();
  }
  std::string line = "vmm: trace: " + std::to_string(counts.events) + " events in " + setup_.file.string();
  if (tracer_.dropped() || guest_dropped)
    line += "; dropped " + std::to_string(tracer_.dropped()) + " host and " + std::to_string(guest_dropped) +
            " guest events (the buffers were full; a larger --trace-buffer keeps more)";
  if (drift_ns_) line += "; guest clock drift " + std::to_string(*drift_ns_ / 1000) + " us over the run";
  if (!setup_.tsc_khz) line += "; no guest events: KVM could not say the guest's TSC rate (KVM_GET_TSC_KHZ)";
  if (!writer_.error().empty()) line += "; " + writer_.error();
  std::fprintf(stderr, "%s\n", line.c_str());
}

nlohmann::json TraceSession::other_data() const {
  nlohmann::json data;
  data["buffer_bytes"] = tracer_.buffer_bytes();
  data["dropped_host_events"] = tracer_.dropped();
  nlohmann::json syncs = nlohmann::json::array();
  for (const auto& sync : syncs_) syncs.push_back({{"tsc", sync.tsc}, {"host_ns", sync.host_ns - origin_ns_}});
  data["time_sync"] = {{"tsc_khz", setup_.tsc_khz}, {"syncs", syncs}};
  if (drift_ns_) data["time_sync"]["drift_ns"] = *drift_ns_;
  auto check = writer_.clock_check_ns();
  if (!check.empty()) {
    std::sort(check.begin(), check.end());
    data["time_sync"]["guest_minus_host_ack_ns"] = {{"samples", check.size()}, {"min", check.front()},
                                                    {"median", check[check.size() / 2]}, {"max", check.back()}};
  }
  std::lock_guard lock(guest_mutex_);
  data["guest_registered"] = guest_ != nullptr;
  if (guest_) {
    data["dropped_guest_events"] = guest_->dropped();
    data["guest_ring_errors"] = guest_->ring_errors();
  }
  return data;
}

nlohmann::json TraceSession::stats() const {
  nlohmann::json stats = {{"events_written", writer_.counts().events}, {"dropped_host_events", tracer_.dropped()}};
  std::lock_guard lock(guest_mutex_);
  if (guest_) stats["dropped_guest_events"] = guest_->dropped();
  return stats;
}

bool TraceSession::guest_registered(std::uint64_t address) {
  std::lock_guard lock(guest_mutex_);
  try {
    if (guest_) throw std::invalid_argument("the guest registered a second trace area; the first one stays");
    guest_ = std::make_unique<GuestTraceReader>(memory_, address);
    return true;
  } catch (const std::exception& error) {
    if (!refusal_reported_) std::fprintf(stderr, "vmm: trace: guest trace area refused: %s\n", error.what());
    refusal_reported_ = true;
    return false;
  }
}

void TraceSession::guest_sync() {
  std::uint64_t tsc = 0;
  {
    std::lock_guard lock(guest_mutex_);
    if (!guest_) return;
    tsc = guest_->sync_tsc();
  }
  Tracer::record({.start = Tracer::now_ns(), .a = tsc, .kind = RecordKind::GuestSync});
}

void TraceSession::control_request(std::size_t kind, std::uint64_t start_ns, std::uint64_t end_ns) {
  Tracer::record({.start = start_ns, .end = end_ns, .a = kind, .kind = RecordKind::Control});
}

void TraceSession::injected(std::size_t line, std::uint64_t seq, std::uint64_t start_ns, std::uint64_t end_ns,
                            bool coalesced) {
  Tracer::record({.start = start_ns, .end = end_ns, .a = seq, .b = coalesced, .kind = RecordKind::Inject,
                  .track = static_cast<std::uint32_t>(line)});
}

void TraceSession::acknowledged(std::size_t line, Injector::Acknowledgement found, std::uint64_t seq,
                                std::uint64_t coalesced, std::optional<std::uint32_t> vcpu) {
  Tracer::record({.start = Tracer::now_ns(), .a = seq, .b = found == Injector::Acknowledgement::Delivered,
                  .c = coalesced, .kind = RecordKind::Acknowledge,
                  .sub = static_cast<std::uint16_t>(vcpu ? *vcpu + 1 : 0), .track = static_cast<std::uint32_t>(line)});
}

}  // namespace vmm::trace
