#pragma once
// The injection timeline of a config (`inject`, or --inject FILE): each entry
// at its time after the start of the run, a burst on a scripted line (the
// Injector keeps the absolute deadlines, so entries never drift) or text to the
// serial input (a timer each).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "devices/Clock.h"
#include "irq/Injector.h"
#include "vmm/Config.h"

namespace vmm {

class Timeline {
 public:
  Timeline(Clock& clock, Injector& injector, std::function<void(const std::string&)> send_serial_input);

  // Schedules every entry relative to now. Once, from the event loop.
  void start(const std::vector<InjectEvent>& events);

 private:
  Clock& clock_;
  Injector& injector_;
  std::function<void(const std::string&)> send_serial_input_;
  std::vector<std::unique_ptr<DeadlineTimer>> serial_timers_;
};

}  // namespace vmm
