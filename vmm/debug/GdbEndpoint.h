#pragma once
// Where the GDB stub listens, as the command line and the config spell it.

#include <cstdint>
#include <optional>
#include <string>

namespace vmm::debug {

struct GdbEndpoint {
  enum class Kind { Tcp, Unix } kind = Kind::Tcp;
  std::string host = "127.0.0.1";  // TCP
  std::uint16_t port = 1234;       // TCP
  std::string path;                // Unix
  std::string describe() const;
};

// "tcp:HOST:PORT", "tcp::PORT", ":PORT", "PORT" or "unix:PATH"; nullopt for anything else.
std::optional<GdbEndpoint> parse_gdb_endpoint(const std::string& text);
inline constexpr const char* kGdbEndpointForms = "tcp:HOST:PORT, tcp::PORT, PORT or unix:PATH";

}  // namespace vmm::debug
