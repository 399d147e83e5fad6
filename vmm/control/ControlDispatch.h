#pragma once
// Carries out one control request on a ControlTarget: parse, then one handler
// per request kind (a kind added to control::Request without a handler fails
// to compile), then the response.

#include <cstddef>
#include <nlohmann/json.hpp>

#include "vmm/control/ControlTarget.h"

namespace vmm::control {

struct Dispatched {
  nlohmann::json response;
  std::size_t kind;  // the request's index in control::Request (see request_names())
};

// Throws std::invalid_argument for a malformed or refused request.
Dispatched dispatch(ControlTarget& target, const nlohmann::json& request);

}  // namespace vmm::control
