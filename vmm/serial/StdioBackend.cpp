#include "vmm/serial/StdioBackend.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <cstdlib>

namespace vmm {

namespace {

// The terminal state to restore, reachable from a fatal-signal handler.
struct termios g_saved_termios;
volatile sig_atomic_t g_terminal_raw = 0;

void restore_terminal() {
  if (g_terminal_raw) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
    g_terminal_raw = 0;
  }
}

void restore_terminal_and_die(int signal) {
  restore_terminal();
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

void enter_raw_mode() {
  if (::tcgetattr(STDIN_FILENO, &g_saved_termios) < 0) return;
  struct termios raw = g_saved_termios;
  ::cfmakeraw(&raw);
  raw.c_oflag = g_saved_termios.c_oflag;  // keep "\n" -> "\r\n" for the guest's output
  if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) return;
  g_terminal_raw = 1;
  static bool hooks_installed = false;
  if (!hooks_installed) {
    hooks_installed = true;
    std::atexit(restore_terminal);
    // SIGHUP is not here: the machine stops cleanly on it, and the atexit
    // hook gives the terminal back.
    for (int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT})
      ::signal(signal, restore_terminal_and_die);
  }
}

}  // namespace

StdioBackend::StdioBackend(boost::asio::io_context& io, const security::SeccompFilters& seccomp)
    : SerialBackend(io, seccomp), input_(io) {
  output_.attach(STDOUT_FILENO, /*permanent=*/true);
  const int input = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  if (input < 0) return;  // no stdin at all: output only
  // O_NONBLOCK, which asio sets for reading, belongs to the open file that the
  // shell shares; remember the flags to give them back.
  saved_stdin_flags_ = ::fcntl(STDIN_FILENO, F_GETFL);
  input_.assign(input);
  interactive_ = ::isatty(STDIN_FILENO);
}

StdioBackend::~StdioBackend() { finish(); }

void StdioBackend::finish() {
  if (finished_) return;
  finished_ = true;
  SerialBackend::finish();
  boost::system::error_code ignored;
  input_.close(ignored);
  if (saved_stdin_flags_ >= 0) ::fcntl(STDIN_FILENO, F_SETFL, saved_stdin_flags_);
  restore_terminal();
}

void StdioBackend::start_input() {
  if (!input_.is_open()) return;
  if (interactive_) enter_raw_mode();
  read_some();
}

void StdioBackend::read_some() {
  input_.async_read_some(boost::asio::buffer(read_buffer_), [this](const boost::system::error_code& error,
                                                                    std::size_t length) {
    if (error) return;  // end of input (or closed at exit): the guest just gets no more
    if (!interactive_) {
      offer_input(std::span(read_buffer_.data(), length));
      return;
    }
    std::vector<std::uint8_t> translated;
    translate_escapes(std::span(read_buffer_.data(), length), translated);
    if (translated.empty())
      read_some();
    else
      offer_input(translated);
  });
}

void StdioBackend::translate_escapes(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& out) {
  for (std::uint8_t byte : bytes) {
    if (!escape_pending_) {
      if (byte == kEscape)
        escape_pending_ = true;
      else
        out.push_back(byte);
      continue;
    }
    escape_pending_ = false;
    if (byte == kQuitKey) {
      if (quit_) quit_();
      return;
    }
    if (byte != kEscape) out.push_back(kEscape);  // not an escape after all: pass both
    out.push_back(byte);
  }
}

}  // namespace vmm
