#pragma once
// The control socket: a Unix stream socket (mode 0600) that takes one JSON
// request per line and answers one JSON response per line, for any number of
// clients at once. Every request is handled on the event loop, one at a time per
// connection. A malformed request gets an error response; a line over 64 KiB
// gets one and the connection is closed; a client that stops reading stalls
// only its own connection.

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

namespace vmm {

class ControlServer {
 public:
  static constexpr std::size_t kMaxRequestBytes = 64 * 1024;
  static constexpr std::size_t kMaxClients = 64;

  // Returns the response; throws std::invalid_argument for a request it refuses
  // (the message becomes the error response).
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  // Throws InputError when the socket cannot be created at `path`.
  ControlServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler);
  ~ControlServer();

  std::size_t clients() const { return *clients_; }

 private:
  class Session;
  void accept();

  std::filesystem::path path_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::shared_ptr<std::size_t> clients_ = std::make_shared<std::size_t>(0);
};

// The answer to one request line, as the server gives it: {"ok": true, ...} or
// {"ok": false, "error": "..."}. Exposed for tests.
nlohmann::json answer_request(const std::string& line, const ControlServer::Handler& handler);

}  // namespace vmm
