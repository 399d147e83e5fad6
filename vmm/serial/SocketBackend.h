#pragma once
// COM1 on a listening Unix stream socket. One client at a time; it can connect,
// leave and reconnect. Output waits in the pump while nobody is connected (the
// guest stalls once it is full, so nothing is lost), and goes to the next client.

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>

#include "vmm/serial/SerialBackend.h"

namespace vmm {

class SocketBackend final : public SerialBackend {
 public:
  SocketBackend(boost::asio::io_context& io, const security::SeccompFilters& seccomp, const std::filesystem::path& path);
  ~SocketBackend() override;

  void finish() override;

 private:
  void start_input() override { accept(); }
  void on_input_consumed() override { read_some(); }
  void accept();
  void read_some();
  void drop_client();

  std::filesystem::path path_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::local::stream_protocol::socket client_;
  std::array<std::uint8_t, 4096> read_buffer_{};
  bool finished_ = false;
};

}  // namespace vmm
