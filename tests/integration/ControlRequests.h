#pragma once
// Talking to a running vmm's control socket from a test, one JSON line each way.

#include <nlohmann/json.hpp>
#include <string>

namespace vmm::testing {

bool send_all(int fd, const std::string& data);
// Reads one response line; empty on EOF.
std::string read_line(int fd, std::string& buffer);
// One request on a connection of its own; {"ok": false, "error": ...} when the
// VM cannot be reached or does not answer.
nlohmann::json request(const std::string& socket_path, const nlohmann::json& body);

// Polls the stats until the injection counters are quiet: nothing left to fire,
// every injection delivered or coalesced, and no new acknowledgement for
// `settle_ms` (an edge coalesced in the LAPIC is only known as one once no more
// acknowledgements come). Returns the last stats; not an object if the VM went
// away. Gives up after `limit_s`, returning what it saw.
nlohmann::json wait_until_quiet(const std::string& socket_path, int settle_ms = 200, int limit_s = 240);

}  // namespace vmm::testing
