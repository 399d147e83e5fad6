#pragma once
// Where COM1 is connected: the terminal (stdin/stdout), a file, or a listening
// Unix socket. A backend owns both directions: the output pump the UART writes
// into, and the input side, which moves bytes into the UART only while its
// receive FIFO has room, so input is never dropped, however slowly the guest
// reads.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "devices/Uart16550.h"
#include "vmm/Config.h"
#include "vmm/serial/OutputPump.h"

namespace vmm {

class SerialBackend {
 public:
  // Throws InputError when the backend cannot be set up (file or socket path).
  static std::unique_ptr<SerialBackend> create(const SerialConfig& config, boost::asio::io_context& io,
                                               const security::SeccompFilters& seccomp);

  virtual ~SerialBackend() = default;

  ByteSink& output() { return output_; }
  // Told, on the event loop, how many input bytes each time the UART takes some (--trace).
  void set_input_observer(std::function<void(std::size_t bytes)> observer) { input_observer_ = std::move(observer); }
  const OutputPump& output_pump() const { return output_; }

  // Wires the UART and begins moving input. `quit` runs on the event loop when
  // the user types the quit escape (Ctrl-A x on a terminal).
  void start(Uart16550& uart, std::function<void()> quit);

  // Text for the guest, as if typed (the injection timeline, the control socket).
  // Event-loop thread only; held back like any input while the UART is full.
  void send_input(std::string_view text) {
    offer_input(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }

  // At the end of the run: deliver buffered output (waiting a bounded time for a
  // slow reader) and give the terminal back as it was. Safe to call twice.
  virtual void finish();

 protected:
  SerialBackend(boost::asio::io_context& io, const security::SeccompFilters& seccomp) : io_(io), output_(seccomp) {}

  virtual void start_input() = 0;
  // Hands bytes read from the source to the UART as it makes room; the source
  // reads again once on_input_consumed() is called.
  void offer_input(std::span<const std::uint8_t> bytes);
  virtual void on_input_consumed() = 0;

  boost::asio::io_context& io_;
  OutputPump output_;
  Uart16550* uart_ = nullptr;
  std::function<void()> quit_;
  std::function<void(std::size_t)> input_observer_;

 private:
  void feed_uart();

  std::vector<std::uint8_t> pending_input_;
};

}  // namespace vmm
