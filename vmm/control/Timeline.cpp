#include "vmm/control/Timeline.h"

namespace vmm {

Timeline::Timeline(Clock& clock, Injector& injector, std::function<void(const std::string&)> send_serial_input)
    : clock_(clock), injector_(injector), send_serial_input_(std::move(send_serial_input)) {}

void Timeline::start(const std::vector<InjectEvent>& events) {
  const std::uint64_t start = clock_.now_ns();
  for (const auto& event : events) {
    const std::uint64_t at = start + static_cast<std::uint64_t>(event.at.count());
    if (!event.line.empty()) {
      injector_.schedule(event.line, event.count, static_cast<std::uint64_t>(event.interval.count()), at,
                         Injector::pacing_for(event.wait_for_ack));
      continue;
    }
    auto timer = clock_.make_timer([this, text = event.serial] { send_serial_input_(text); });
    timer->arm(at);
    serial_timers_.push_back(std::move(timer));
  }
}

}  // namespace vmm
