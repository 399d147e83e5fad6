#pragma once
// The GDB stub's transport and protocol state: listens on TCP or a Unix
// socket, takes one debugger at a time (a second is refused and told so on
// stderr), and answers its packets on the event loop with GdbTarget. A client
// that goes away, cleanly or not, leaves the VM running without breakpoints.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "vmm/debug/GdbEndpoint.h"
#include "vmm/debug/GdbTarget.h"

namespace vmm::debug {

struct GdbStats {
  std::uint64_t clients = 0, refused_clients = 0, packets = 0, bad_checksums = 0, oversized_packets = 0,
                garbage_bytes = 0, interrupts = 0, disconnects_mid_packet = 0, stops_reported = 0,
                exits_reported = 0;
};

class GdbServer {
 public:
  // Throws InputError when the endpoint cannot be listened on. `kill` ends the run (GDB's k).
  GdbServer(boost::asio::io_context& io, const GdbEndpoint& endpoint, GdbTarget& target, std::function<void()> kill);
  ~GdbServer();

  nlohmann::json stats() const;

  // The run is over: tells an attached debugger how, as QEMU's stub does, so
  // gdb prints "[Inferior 1 (Remote target) exited ...]" rather than losing
  // the connection. `W` with vmm's exit status, or `X` with the signal that
  // stopped vmm (GDB numbers SIGHUP, SIGINT and SIGTERM as Linux does). After
  // the event loop has stopped: written at once, best effort, never blocking.
  void report_exit(int status, int signal);

 private:
  class Session;
  void accept_tcp();
  void accept_unix();
  template <typename Socket>
  void admit(Socket socket);

  boost::asio::io_context& io_;
  GdbEndpoint endpoint_;
  GdbTarget& target_;
  std::function<void()> kill_;
  std::optional<boost::asio::ip::tcp::acceptor> tcp_;
  std::optional<boost::asio::local::stream_protocol::acceptor> unix_;
  int family_ = 0, protocol_ = 0;
  std::shared_ptr<Session> session_;
  GdbStats stats_;
};

}  // namespace vmm::debug
