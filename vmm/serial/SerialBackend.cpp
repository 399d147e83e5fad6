#include "vmm/serial/SerialBackend.h"

#include <boost/asio/post.hpp>
#include <cstdio>

#include "vmm/serial/FileBackend.h"
#include "vmm/serial/SocketBackend.h"
#include "vmm/serial/StdioBackend.h"

namespace vmm {

std::unique_ptr<SerialBackend> SerialBackend::create(const SerialConfig& config, boost::asio::io_context& io,
                                                     const security::SeccompFilters& seccomp) {
  switch (config.backend) {
    case SerialConfig::Backend::Stdio: return std::make_unique<StdioBackend>(io, seccomp);
    case SerialConfig::Backend::File: return std::make_unique<FileBackend>(io, seccomp, config.path);
    case SerialConfig::Backend::Socket: return std::make_unique<SocketBackend>(io, seccomp, config.path);
  }
  return nullptr;
}

void SerialBackend::start(Uart16550& uart, std::function<void()> quit) {
  uart_ = &uart;
  quit_ = std::move(quit);
  output_.set_space_callback([&uart] { uart.transmit_ready(); });
  // The callback runs under the UART's lock on a vCPU thread: only post.
  uart.set_rx_space_callback([this] { boost::asio::post(io_, [this] { feed_uart(); }); });
  start_input();
}

void SerialBackend::finish() {
  constexpr int kDrainLimitMs = 5000;
  const std::size_t undelivered = output_.drain(kDrainLimitMs);
  if (undelivered != 0)
    std::fprintf(stderr, "vmm: serial: %zu bytes of guest output could not be delivered\n", undelivered);
  output_.detach();
}

void SerialBackend::offer_input(std::span<const std::uint8_t> bytes) {
  pending_input_.insert(pending_input_.end(), bytes.begin(), bytes.end());
  feed_uart();
}

void SerialBackend::feed_uart() {
  if (pending_input_.empty() || uart_ == nullptr) return;
  // One step under the UART's lock: checking room and then receiving could miss
  // the guest's reads in between and wait for a callback that never comes.
  const std::size_t taken = uart_->receive_some(pending_input_);
  if (taken == 0) return;  // the UART calls back when the guest makes room
  if (input_observer_) input_observer_(taken);
  pending_input_.erase(pending_input_.begin(), pending_input_.begin() + static_cast<std::ptrdiff_t>(taken));
  if (pending_input_.empty()) on_input_consumed();
}

}  // namespace vmm
