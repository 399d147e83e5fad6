#include "vmm/control/ControlRequest.h"

#include <stdexcept>

namespace vmm::control {

namespace {

std::uint64_t unsigned_field(const nlohmann::json& request, const char* name, std::uint64_t fallback,
                             std::uint64_t max, const char* max_text) {
  if (!request.contains(name)) return fallback;
  if (!request[name].is_number_unsigned()) throw std::invalid_argument(std::string(name) + " must be a non-negative integer");
  const auto value = request[name].get<std::uint64_t>();
  if (value > max) throw std::invalid_argument(std::string(name) + " must be at most " + max_text);
  return value;
}

Inject parse_inject(const nlohmann::json& request) {
  if (!request.contains("line")) throw std::invalid_argument("inject needs a \"line\" (a name or a GSI)");
  const auto& line = request["line"];
  Inject inject;
  if (line.is_number_unsigned())
    inject.line = std::to_string(line.get<std::uint64_t>());
  else if (line.is_string())
    inject.line = line.get<std::string>();
  else
    throw std::invalid_argument("line must be a line's name or a GSI");
  inject.count = unsigned_field(request, "count", 1, kMaxInjectCount, "100000000");
  inject.interval_us = unsigned_field(request, "interval_us", 0, kMaxIntervalUs, "an hour");
  if (request.contains("wait_for_ack")) {
    if (!request["wait_for_ack"].is_boolean()) throw std::invalid_argument("wait_for_ack must be true or false");
    inject.wait_for_ack = request["wait_for_ack"].get<bool>();
  }
  return inject;
}

}  // namespace

Request parse_request(const nlohmann::json& request) {
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string())
    throw std::invalid_argument("a request is an object with a \"cmd\" string");
  const std::string command = request["cmd"].get<std::string>();
  if (command == "inject") return parse_inject(request);
  if (command == "serial") {
    if (!request.contains("text") || !request["text"].is_string()) throw std::invalid_argument("serial needs a \"text\" string");
    return SerialInput{request["text"].get<std::string>()};
  }
  if (command == "stats") return Stats{};
  if (command == "pause") return Pause{};
  if (command == "resume") return Resume{};
  if (command == "nmi") return Nmi{};
  if (command == "stop") return Stop{};
  throw std::invalid_argument("unknown command \"" + command + "\" (commands: inject, serial, stats, pause, resume, nmi, stop)");
}

std::vector<std::string> request_names() {
  static_assert(std::variant_size_v<Request> == 7, "a new request needs its name here");
  return {"inject", "serial", "stats", "pause", "resume", "nmi", "stop"};
}

}  // namespace vmm::control
