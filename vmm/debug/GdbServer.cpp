#include "vmm/debug/GdbServer.h"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <unistd.h>

#include <cstdio>
#include <deque>

#include "vmm/Errors.h"
#include "vmm/UnixListener.h"
#include "vmm/debug/GdbCommand.h"
#include "vmm/debug/RspFraming.h"

namespace vmm::debug {

namespace {

constexpr int kSigtrap = 5;
// How long the loop waits for every vCPU to leave KVM_RUN after a kick; a
// vCPU in the emulator leaves within microseconds, a stalled host thread in
// milliseconds.
constexpr auto kStopLimit = std::chrono::seconds(2);
// 'm' answers in hex, two characters a byte, inside one packet.
constexpr std::size_t kMaxMemoryRead = (kMaxPacketBytes - 16) / 2;

template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// C++20 deduces this for aggregates itself; Clang before 17 does not (P1816).
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

// One debugger's connection: the decoder, the stop state, thread selection.
class GdbServer::Session : public std::enable_shared_from_this<GdbServer::Session> {
 public:
  Session(GdbServer& server, boost::asio::generic::stream_protocol::socket socket)
      : server_(server), target_(server.target_), socket_(std::move(socket)) {}

  void start() {
    // GDB's first question is why the target stopped: stop it if it runs.
    if (!target_.stopped()) target_.interrupt();
    target_.wait_until_stopped(kStopLimit);
    general_ = stop_vcpu();
    read();
  }

  // A stop was requested, or the last vCPU has stopped (posted from its
  // thread): the reply goes out once every vCPU is parked, however long that
  // took, and only once.
  void on_stop() {
    if (!running_ || closed_) return;
    if (!target_.stopped()) return;  // the last vCPU to park posts this again
    running_ = false;
    ++server_.stats_.stops_reported;
    // After a stop reply GDB takes the reported thread as the current one
    // (it sends no Hg before its 'g').
    general_ = stop_vcpu();
    send(stop_text());
  }

  // The last packet of the session, written synchronously: the event loop is
  // no longer running. A client that stopped reading loses it, nothing more.
  void send_final(const std::string& payload) {
    if (closed_ || detaching_) return;  // detached or killed: gdb expects nothing more
    const std::string frame = rsp_frame(payload);
    boost::system::error_code error;
    socket_.non_blocking(true, error);
    if (!error) socket_.write_some(boost::asio::buffer(frame), error);
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(boost::asio::buffer(input_), [this, self](const boost::system::error_code& error,
                                                                      std::size_t bytes) {
      if (closed_) return;
      if (error) {
        gone();
        return;
      }
      for (const RspEvent& event : decoder_.feed(std::span(input_.data(), bytes))) handle(event);
      if (!closed_) read();
    });
  }

  void gone() {
    if (decoder_.pending_bytes() > 0) ++server_.stats_.disconnects_mid_packet;
    std::fprintf(stderr, "vmm: gdb: the debugger went away; the guest runs on without breakpoints\n");
    target_.release();
    close();
    server_.session_.reset();
  }

  void handle(const RspEvent& event) {
    auto& stats = server_.stats_;
    switch (event.kind) {
      case RspEvent::Kind::Packet:
        ++stats.packets;
        if (!no_ack_) write_raw("+");
        respond(event.payload);
        return;
      case RspEvent::Kind::Interrupt:
        ++stats.interrupts;
        if (running_) target_.interrupt();
        return;
      case RspEvent::Kind::Ack: return;
      case RspEvent::Kind::Nak:
        if (!last_sent_.empty()) write_raw(last_sent_);
        return;
      case RspEvent::Kind::BadChecksum:
        ++stats.bad_checksums;
        write_raw("-");
        return;
      case RspEvent::Kind::Oversized:
        ++stats.oversized_packets;
        write_raw("-");
        return;
      case RspEvent::Kind::Garbage: stats.garbage_bytes += event.payload.size(); return;
    }
  }

  std::uint32_t stop_vcpu() const {
    const auto stop = target_.stop_event();
    return stop ? stop->vcpu : 0;
  }

  std::string stop_text() const {
    const auto stop = target_.stop_event();
    const int signal = stop ? stop->signal : kSigtrap;
    return stop_reply(signal, (stop ? stop->vcpu : 0) + 1) + (stop ? stop->reason : "");
  }

  // GDB thread id -> vCPU index; nullopt for none.
  std::optional<std::uint32_t> vcpu_of(ThreadId thread) const {
    if (thread == kAnyThread || thread == kAllThreads) return stop_vcpu();
    if (thread < 1 || thread > static_cast<ThreadId>(target_.vcpu_count())) return std::nullopt;
    return static_cast<std::uint32_t>(thread - 1);
  }

  void resume(const std::vector<GdbTarget::Resume>& actions) {
    running_ = true;
    target_.resume(actions);
  }

  void respond(const std::string& payload) {
    const GdbCommand command = parse_gdb_command(payload);
    if (running_ && !std::holds_alternative<cmd::Unsupported>(command)) {
      // GDB speaks only after a stop reply in all-stop mode; anything else is a confused client.
      send(error_reply(1));
      return;
    }
    std::optional<std::string> reply = std::visit(
        Overloaded{
            [&](const cmd::QuerySupported&) -> std::optional<std::string> {
              char text[128];
              std::snprintf(text, sizeof text, "PacketSize=%zx;qXfer:features:read+;QStartNoAckMode+;vContSupported+",
                            kMaxPacketBytes);
              return text;
            },
            [&](const cmd::ReadFeatures& read) -> std::optional<std::string> {
              if (read.annex != "target.xml") return error_reply(0);
              return xfer_reply(target_description_xml(), read.offset, read.length);
            },
            [&](const cmd::HaltReason&) -> std::optional<std::string> { return stop_text(); },
            [&](const cmd::ReadRegisters&) -> std::optional<std::string> {
              return to_hex(encode_registers(target_.registers(general_)));
            },
            [&](const cmd::WriteRegisters& write) -> std::optional<std::string> {
              const auto registers = decode_registers(write.bytes);
              if (!registers) return error_reply(22);
              target_.set_registers(general_, *registers);
              return "OK";
            },
            [&](const cmd::ReadRegister& read) -> std::optional<std::string> {
              const auto bytes = encode_register(target_.registers(general_), read.number);
              if (bytes.empty()) return error_reply(22);
              return to_hex(bytes);
            },
            [&](const cmd::WriteRegister& write) -> std::optional<std::string> {
              X86Registers registers = target_.registers(general_);
              if (!decode_register(registers, write.number, write.bytes)) return error_reply(22);
              target_.set_registers(general_, registers);
              return "OK";
            },
            [&](const cmd::ReadMemory& read) -> std::optional<std::string> {
              const auto bytes =
                  target_.read_memory(general_, read.address, std::min<std::uint64_t>(read.length, kMaxMemoryRead));
              if (bytes.empty() && read.length > 0) return error_reply(14);
              return to_hex(bytes);
            },
            [&](const cmd::WriteMemory& write) -> std::optional<std::string> {
              return target_.write_memory(general_, write.address, write.bytes) ? "OK" : error_reply(14);
            },
            [&](const cmd::Continue& resume_at) -> std::optional<std::string> {
              if (resume_at.address) set_rip(*resume_at.address);
              resume(std::vector(target_.vcpu_count(), GdbTarget::Resume::Continue));
              return std::nullopt;  // the stop reply comes later
            },
            [&](const cmd::Step& step_at) -> std::optional<std::string> {
              if (step_at.address) set_rip(*step_at.address);
              // As QEMU: the others run while one steps (vCont can say otherwise).
              std::vector actions(target_.vcpu_count(), GdbTarget::Resume::Continue);
              actions[continuing_ ? *continuing_ : stop_vcpu()] = GdbTarget::Resume::Step;
              resume(actions);
              return std::nullopt;
            },
            [&](const cmd::VContQuery&) -> std::optional<std::string> { return "vCont;c;C;s;S"; },
            [&](const cmd::VCont& vcont) -> std::optional<std::string> {
              // The first action that names a vCPU decides; one that names
              // none applies to the rest; a vCPU no action covers stays stopped.
              std::vector actions(target_.vcpu_count(), GdbTarget::Resume::Stay);
              std::vector<bool> decided(target_.vcpu_count(), false);
              for (const auto& action : vcont.actions) {
                for (std::uint32_t id = 0; id < target_.vcpu_count(); ++id) {
                  const bool applies = action.thread == kAllThreads || action.thread == kAnyThread ||
                                       action.thread == static_cast<ThreadId>(id) + 1;
                  if (!applies || decided[id]) continue;
                  decided[id] = true;
                  const bool step = action.action == 's' || action.action == 'S';
                  actions[id] = step ? GdbTarget::Resume::Step : GdbTarget::Resume::Continue;
                }
              }
              resume(actions);
              return std::nullopt;
            },
            [&](const cmd::InsertBreakpoint& insert) -> std::optional<std::string> {
              return result(target_.insert_breakpoint(general_, insert.type, insert.address, insert.kind));
            },
            [&](const cmd::RemoveBreakpoint& remove) -> std::optional<std::string> {
              return result(target_.remove_breakpoint(remove.type, remove.address, remove.kind));
            },
            [&](const cmd::SetThread& set) -> std::optional<std::string> {
              if (set.operation == 'c') {
                continuing_ = set.thread == kAllThreads ? std::nullopt : vcpu_of(set.thread);
                return "OK";
              }
              const auto vcpu = vcpu_of(set.thread);
              if (!vcpu) return error_reply(22);
              general_ = *vcpu;
              return "OK";
            },
            [&](const cmd::ThreadAlive& alive) -> std::optional<std::string> {
              return alive.thread >= 1 && vcpu_of(alive.thread) ? "OK" : error_reply(22);
            },
            [&](const cmd::CurrentThread&) -> std::optional<std::string> {
              char text[24];
              std::snprintf(text, sizeof text, "QC%x", stop_vcpu() + 1);
              return text;
            },
            [&](const cmd::FirstThreadInfo&) -> std::optional<std::string> {
              return thread_list_reply(target_.vcpu_count());
            },
            [&](const cmd::NextThreadInfo&) -> std::optional<std::string> { return "l"; },
            [&](const cmd::Attached&) -> std::optional<std::string> { return "1"; },
            [&](const cmd::Detach&) -> std::optional<std::string> {
              target_.release();
              detaching_ = true;
              return "OK";
            },
            [&](const cmd::Kill&) -> std::optional<std::string> {
              target_.release();
              server_.kill_();
              detaching_ = true;
              return "OK";
            },
            [&](const cmd::StartNoAckMode&) -> std::optional<std::string> {
              start_no_ack_ = true;
              return "OK";
            },
            [&](const cmd::Malformed&) -> std::optional<std::string> { return error_reply(1); },
            [&](const cmd::Unsupported&) -> std::optional<std::string> { return ""; },
        },
        command);
    if (reply) send(*reply);
    if (start_no_ack_) {
      no_ack_ = true;
      start_no_ack_ = false;
    }
    if (detaching_) {
      std::fprintf(stderr, "vmm: gdb: the debugger detached; the guest runs on\n");
      auto self = shared_from_this();
      boost::asio::post(socket_.get_executor(), [this, self] {
        close();
        server_.session_.reset();
      });
    }
  }

  std::string result(GdbTarget::Result outcome) const {
    switch (outcome) {
      case GdbTarget::Result::Done: return "OK";
      case GdbTarget::Result::Unsupported: return "";
      case GdbTarget::Result::Failed: return error_reply(22);
    }
    return error_reply(22);
  }

  void set_rip(std::uint64_t address) {
    const std::uint32_t vcpu = continuing_ ? *continuing_ : stop_vcpu();
    X86Registers registers = target_.registers(vcpu);
    registers.rip = address;
    target_.set_registers(vcpu, registers);
  }

  void send(const std::string& payload) {
    last_sent_ = rsp_frame(payload);
    write_raw(last_sent_);
  }

  void write_raw(const std::string& bytes) {
    const bool idle = outgoing_.empty();
    outgoing_.push_back(bytes);
    if (idle) write_next();
  }

  void write_next() {
    if (outgoing_.empty() || closed_) return;
    auto self = shared_from_this();
    boost::asio::async_write(socket_, boost::asio::buffer(outgoing_.front()),
                             [this, self](const boost::system::error_code& error, std::size_t) {
                               if (closed_) return;
                               outgoing_.pop_front();
                               if (error) return;  // the read side notices the client left
                               write_next();
                             });
  }

  GdbServer& server_;
  GdbTarget& target_;
  boost::asio::generic::stream_protocol::socket socket_;
  std::array<std::uint8_t, 4096> input_{};
  RspDecoder decoder_;
  std::deque<std::string> outgoing_;
  std::string last_sent_;
  bool no_ack_ = false, start_no_ack_ = false, running_ = false, closed_ = false, detaching_ = false;
  std::uint32_t general_ = 0;                // Hg: registers and memory
  std::optional<std::uint32_t> continuing_;  // Hc: which vCPU steps; none for "all"
};

GdbServer::GdbServer(boost::asio::io_context& io, const GdbEndpoint& endpoint, GdbTarget& target,
                     std::function<void()> kill)
    : io_(io), endpoint_(endpoint), target_(target), kill_(std::move(kill)) {
  if (endpoint.kind == GdbEndpoint::Kind::Unix) {
    unix_.emplace(io);
    listen_unix(*unix_, endpoint.path, "--gdb", 1);
    family_ = AF_UNIX;
    accept_unix();
  } else {
    boost::system::error_code error;
    const auto address = boost::asio::ip::make_address(endpoint.host, error);
    if (error) throw InputError("--gdb " + endpoint.describe() + ": not an IP address: " + endpoint.host);
    tcp_.emplace(io);
    const boost::asio::ip::tcp::endpoint where(address, endpoint.port);
    tcp_->open(where.protocol(), error);
    if (!error) tcp_->set_option(boost::asio::socket_base::reuse_address(true), error);
    if (!error) tcp_->bind(where, error);
    if (!error) tcp_->listen(1, error);
    family_ = where.protocol().family();
    protocol_ = where.protocol().protocol();
    if (error) throw InputError("--gdb " + endpoint.describe() + ": " + error.message());
    accept_tcp();
  }
  target_.set_stop_listener([this] {
    boost::asio::post(io_, [this] {
      if (session_) session_->on_stop();
    });
  });
  std::fprintf(stderr, "vmm: gdb: listening on %s\n", endpoint.describe().c_str());
}

GdbServer::~GdbServer() {
  target_.set_stop_listener(nullptr);
  if (session_) session_->close();
  if (unix_) ::unlink(endpoint_.path.c_str());
}

template <typename Socket>
void GdbServer::admit(Socket socket) {
  if (session_) {
    ++stats_.refused_clients;
    std::fprintf(stderr, "vmm: gdb: refused a second debugger: one at a time\n");
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  ++stats_.clients;
  // The family is known from the listener: asking the socket (getsockname)
  // would be a system call the event loop's filter does not need otherwise.
  boost::asio::generic::stream_protocol::socket generic(
      io_, boost::asio::generic::stream_protocol(family_, protocol_), socket.release());
  session_ = std::make_shared<Session>(*this, std::move(generic));
  session_->start();
}

void GdbServer::accept_tcp() {
  tcp_->async_accept([this](const boost::system::error_code& error, boost::asio::ip::tcp::socket socket) {
    if (error == boost::asio::error::operation_aborted) return;
    if (!error) admit(std::move(socket));
    accept_tcp();
  });
}

void GdbServer::accept_unix() {
  unix_->async_accept([this](const boost::system::error_code& error, boost::asio::local::stream_protocol::socket socket) {
    if (error == boost::asio::error::operation_aborted) return;
    if (!error) admit(std::move(socket));
    accept_unix();
  });
}

void GdbServer::report_exit(int status, int signal) {
  if (!session_) return;
  char payload[8];
  if (signal != 0)
    std::snprintf(payload, sizeof payload, "X%02x", static_cast<unsigned>(signal) & 0xff);
  else
    std::snprintf(payload, sizeof payload, "W%02x", static_cast<unsigned>(status) & 0xff);
  session_->send_final(payload);
  ++stats_.exits_reported;
}

nlohmann::json GdbServer::stats() const {
  return {{"endpoint", endpoint_.describe()},     {"clients", stats_.clients},
          {"refused_clients", stats_.refused_clients}, {"packets", stats_.packets},
          {"bad_checksums", stats_.bad_checksums},  {"oversized_packets", stats_.oversized_packets},
          {"garbage_bytes", stats_.garbage_bytes},  {"interrupts", stats_.interrupts},
          {"disconnects_mid_packet", stats_.disconnects_mid_packet}, {"stops_reported", stats_.stops_reported},
          {"exits_reported", stats_.exits_reported}};
}

}  // namespace vmm::debug
