#include "vmm/debug/GdbEndpoint.h"

#include <cctype>
#include <cstdlib>

namespace vmm::debug {

std::string GdbEndpoint::describe() const {
  return kind == Kind::Unix ? "unix:" + path : "tcp:" + host + ":" + std::to_string(port);
}

std::optional<GdbEndpoint> parse_gdb_endpoint(const std::string& text) {
  GdbEndpoint endpoint;
  if (text.rfind("unix:", 0) == 0) {
    endpoint.kind = GdbEndpoint::Kind::Unix;
    endpoint.path = text.substr(5);
    if (endpoint.path.empty()) return std::nullopt;
    return endpoint;
  }
  std::string rest = text.rfind("tcp:", 0) == 0 ? text.substr(4) : text;
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    if (colon > 0) endpoint.host = rest.substr(0, colon);
    rest = rest.substr(colon + 1);
  }
  char* end = nullptr;
  const unsigned long port = std::strtoul(rest.c_str(), &end, 10);
  if (rest.empty() || *end != '\0' || port > 65535 || !std::isdigit(static_cast<unsigned char>(rest[0])))
    return std::nullopt;
  endpoint.port = static_cast<std::uint16_t>(port);
  return endpoint;
}

}  // namespace vmm::debug
