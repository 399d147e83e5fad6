#include "vmm/control/ControlServer.h"

#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "vmm/UnixListener.h"

namespace vmm {

using boost::asio::local::stream_protocol;

nlohmann::json answer_request(const std::string& line, const ControlServer::Handler& handler) {
  nlohmann::json request;
  try {
    request = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    // parse_error, and out_of_range for a number too large for a double
    // (1e400): both are lines that are no request (found by control_fuzzer).
    return {{"ok", false}, {"error", "not a JSON object: send one JSON request per line"}};
  }
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string())
    return {{"ok", false}, {"error", "a request is an object with a \"cmd\" string"}};
  try {
    nlohmann::json response = handler(request);
    response["ok"] = true;
    return response;
  } catch (const std::invalid_argument& error) {
    return {{"ok", false}, {"error", error.what()}};
  } catch (const nlohmann::json::exception& error) {
    return {{"ok", false}, {"error", std::string("bad field: ") + error.what()}};
  }
}

class ControlServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(stream_protocol::socket socket, const Handler& handler, std::shared_ptr<std::size_t> clients)
      : socket_(std::move(socket)), handler_(handler), clients_(std::move(clients)) {
    ++*clients_;
  }
  ~Session() { --*clients_; }

  void read() {
    boost::asio::async_read_until(socket_, input_, '\n',
                                  [self = shared_from_this()](const boost::system::error_code& error,
                                                              std::size_t length) { self->on_line(error, length); });
  }

 private:
  void on_line(const boost::system::error_code& error, std::size_t length) {
    if (error == boost::asio::error::not_found) {  // longer than the buffer's limit
      respond({{"ok", false}, {"error", "request longer than 65536 bytes; closing"}}, /*then_close=*/true);
      return;
    }
    if (error) return;  // the client left; the session ends with its last handler
    std::string line(boost::asio::buffers_begin(input_.data()),
                     boost::asio::buffers_begin(input_.data()) + static_cast<std::ptrdiff_t>(length) - 1);
    input_.consume(length);
    respond(answer_request(line, handler_), false);
  }

  void respond(const nlohmann::json& response, bool then_close) {
    output_ = response.dump() + "\n";
    boost::asio::async_write(socket_, boost::asio::buffer(output_),
                             [self = shared_from_this(), then_close](const boost::system::error_code& error,
                                                                     std::size_t) {
                               if (error || then_close) return;
                               self->read();
                             });
  }

  stream_protocol::socket socket_;
  const Handler& handler_;
  std::shared_ptr<std::size_t> clients_;
  boost::asio::streambuf input_{kMaxRequestBytes};
  std::string output_;
};

ControlServer::ControlServer(boost::asio::io_context& io, std::filesystem::path path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)), acceptor_(io) {
  listen_unix(acceptor_, path_, "control socket", static_cast<int>(kMaxClients));
  accept();
}

ControlServer::~ControlServer() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  ::unlink(path_.c_str());
}

void ControlServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& error, stream_protocol::socket socket) {
    if (error == boost::asio::error::operation_aborted) return;  // shutting down
    if (!error) {
      if (*clients_ >= kMaxClients) {
        const std::string busy = R"({"ok":false,"error":"too many control clients"})" "\n";
        boost::system::error_code ignored;
        boost::asio::write(socket, boost::asio::buffer(busy), ignored);
      } else {
        std::make_shared<Session>(std::move(socket), handler_, clients_)->read();
      }
    }
    accept();
  });
}

}  // namespace vmm
