#pragma once
// The client side of the control socket, for `vmm inject` and `vmm ctl`: one
// request, one response.

#include <nlohmann/json.hpp>
#include <string>

namespace vmm {

// Throws InputError when the socket cannot be reached or answers nonsense.
nlohmann::json control_request(const std::string& path, const nlohmann::json& request);

}  // namespace vmm
