#include "vmm/control/ControlClient.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "vmm/Errors.h"

namespace vmm {

nlohmann::json control_request(const std::string& path, const nlohmann::json& request) {
  using boost::asio::local::stream_protocol;
  boost::asio::io_context io;
  stream_protocol::socket socket(io);
  boost::system::error_code error;
  socket.connect(stream_protocol::endpoint(path), error);
  if (error)
    throw InputError("control socket " + path + ": " + error.message() +
                     " (is a VM running with --control " + path + "?)");
  const std::string line = request.dump() + "\n";
  boost::asio::write(socket, boost::asio::buffer(line), error);
  boost::asio::streambuf input;
  const std::size_t length = error ? 0 : boost::asio::read_until(socket, input, '\n', error);
  if (error) throw InputError("control socket " + path + ": " + error.message());
  const std::string answer(boost::asio::buffers_begin(input.data()),
                           boost::asio::buffers_begin(input.data()) + static_cast<std::ptrdiff_t>(length));
  try {
    return nlohmann::json::parse(answer);
  } catch (const nlohmann::json::parse_error&) {
    throw InputError("control socket " + path + ": the answer is not JSON: " + answer);
  }
}

}  // namespace vmm
