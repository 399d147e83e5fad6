#pragma once
// Listening Unix stream sockets for vmm's own endpoints (the control socket, the
// serial socket): created with mode 0600 from the start, replacing a socket an
// earlier run of ours left behind (ours, and nobody listening), never a live
// one, another user's, or any other kind of file.

#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <string>

namespace vmm {

// Throws InputError("<what> <path>: <reason>").
void listen_unix(boost::asio::local::stream_protocol::acceptor& acceptor, const std::filesystem::path& path,
                 const std::string& what, int backlog);

}  // namespace vmm
