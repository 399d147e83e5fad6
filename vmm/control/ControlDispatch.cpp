#include "vmm/control/ControlDispatch.h"

#include <variant>

namespace vmm::control {

namespace {

struct Executor {
  ControlTarget& target;
  nlohmann::json operator()(const Inject& inject) const {
    target.inject(inject);
    return {{"scheduled", inject.count}};
  }
  nlohmann::json operator()(const SerialInput& input) const {
    target.send_serial_input(input.text);
    return nlohmann::json::object();
  }
  nlohmann::json operator()(const Stats&) const { return {{"stats", target.stats()}}; }
  nlohmann::json operator()(const Pause&) const {
    target.pause();
    return nlohmann::json::object();
  }
  nlohmann::json operator()(const Resume&) const {
    target.resume();
    return nlohmann::json::object();
  }
  nlohmann::json operator()(const Nmi&) const {
    target.nmi();
    return nlohmann::json::object();
  }
  nlohmann::json operator()(const Stop&) const {
    target.stop_after_reply();
    return nlohmann::json::object();
  }
};

}  // namespace

Dispatched dispatch(ControlTarget& target, const nlohmann::json& json) {
  const Request request = parse_request(json);
  return {std::visit(Executor{target}, request), request.index()};
}

}  // namespace vmm::control
