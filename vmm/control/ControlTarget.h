#pragma once
// What a control request can do to a running machine: the calls the control
// socket's requests carry out, and the only way into the machine for anything
// that acts on it from outside (the socket today, scenarios next). Machine
// implements it; tests can plug in a fake.

#include <nlohmann/json.hpp>
#include <string>

#include "vmm/control/ControlRequest.h"

namespace vmm::control {

class ControlTarget {
 public:
  virtual ~ControlTarget() = default;

  // Each throws std::invalid_argument for a request the machine refuses now
  // (an unknown line, an NMI before the vCPUs start); the message is the client's.
  virtual void inject(const Inject& inject) = 0;
  virtual void send_serial_input(const std::string& text) = 0;
  virtual nlohmann::json stats() const = 0;
  virtual void pause() = 0;
  virtual void resume() = 0;
  virtual void nmi() = 0;
  // Ends the run with status 0 once the current request has been answered.
  virtual void stop_after_reply() = 0;
};

}  // namespace vmm::control
