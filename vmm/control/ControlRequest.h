#pragma once
// The control protocol's requests, parsed and checked apart from what carries
// them out: a request line's JSON becomes one typed value, or a refusal with a
// message for the client. Pure, so it can be fuzzed without a VM.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace vmm::control {

struct Inject {
  std::string line;  // a line's name, or its GSI in decimal
  std::uint64_t count = 1;
  std::uint64_t interval_us = 0;
  bool wait_for_ack = false;
};
struct SerialInput {
  std::string text;
};
struct Stats {};
struct Pause {};
struct Resume {};
struct Nmi {};
struct Stop {};

using Request = std::variant<Inject, SerialInput, Stats, Pause, Resume, Nmi, Stop>;

constexpr std::uint64_t kMaxInjectCount = 100'000'000;
constexpr std::uint64_t kMaxIntervalUs = 3'600'000'000ull;  // an hour

// Throws std::invalid_argument with the message for the client: an unknown
// command, a missing field, a field of the wrong type or out of range.
Request parse_request(const nlohmann::json& request);

// The commands, in the order of Request's alternatives (for a request's index()).
std::vector<std::string> request_names();

}  // namespace vmm::control
