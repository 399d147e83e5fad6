#pragma once
// COM1 on the terminal: output to stdout, input from stdin. On a terminal, stdin
// goes to raw mode (output processing kept) for the run and comes back as it
// was on every way out, a fatal signal included; Ctrl-A x quits and Ctrl-A
// Ctrl-A sends a Ctrl-A, as in QEMU. Piped input is passed through untouched.

#include <termios.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "vmm/serial/SerialBackend.h"

namespace vmm {

class StdioBackend final : public SerialBackend {
 public:
  static constexpr std::uint8_t kEscape = 0x01;  // Ctrl-A
  static constexpr std::uint8_t kQuitKey = 'x';

  StdioBackend(boost::asio::io_context& io, const security::SeccompFilters& seccomp);
  ~StdioBackend() override;

  void finish() override;

 private:
  void start_input() override;
  void on_input_consumed() override { read_some(); }
  void read_some();
  void translate_escapes(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& out);

  boost::asio::posix::stream_descriptor input_;
  int saved_stdin_flags_ = -1;
  bool interactive_ = false;
  bool escape_pending_ = false;
  bool finished_ = false;
  std::array<std::uint8_t, 4096> read_buffer_{};
};

}  // namespace vmm
