#include "vmm/serial/SocketBackend.h"

#include <unistd.h>

#include <boost/asio/buffer.hpp>

#include "vmm/UnixListener.h"

namespace vmm {

SocketBackend::SocketBackend(boost::asio::io_context& io, const security::SeccompFilters& seccomp,
                             const std::filesystem::path& path)
    : SerialBackend(io, seccomp), path_(path), acceptor_(io), client_(io) {
  listen_unix(acceptor_, path, "serial socket", 1);
}

SocketBackend::~SocketBackend() { finish(); }

void SocketBackend::finish() {
  if (finished_) return;
  finished_ = true;
  SerialBackend::finish();
  boost::system::error_code ignored;
  client_.close(ignored);
  acceptor_.close(ignored);
  ::unlink(path_.c_str());
}

void SocketBackend::accept() {
  acceptor_.async_accept(client_, [this](const boost::system::error_code& error) {
    if (error) return;  // closed at exit
    output_.attach(client_.native_handle(), /*permanent=*/false);
    read_some();
  });
}

void SocketBackend::read_some() {
  client_.async_read_some(boost::asio::buffer(read_buffer_), [this](const boost::system::error_code& error,
                                                                    std::size_t length) {
    if (error) {
      drop_client();
      return;
    }
    offer_input(std::span(read_buffer_.data(), length));
  });
}

void SocketBackend::drop_client() {
  output_.detach();  // no write to the fd is in progress after this
  boost::system::error_code ignored;
  client_.close(ignored);
  if (!finished_) accept();
}

}  // namespace vmm
