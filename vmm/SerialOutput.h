#pragma once
// The serial console's sink: bytes from the UART are appended to a buffer under a
// lock (no syscall per byte on the vCPU thread) and written out by the event loop.
// A buffer that grows past its bound is written by the producer itself, so a slow
// reader slows the guest instead of growing memory. flush() empties it at exit.

#include <boost/asio/io_context.hpp>
#include <mutex>
#include <vector>

#include "devices/ByteSink.h"
#include "irq/UniqueFd.h"

namespace vmm {

class SerialOutput final : public ByteSink {
 public:
  static constexpr std::size_t kBufferBound = 64 * 1024;

  // Writes to `fd`; takes ownership when `owned` is valid (a file backend),
  // otherwise borrows it (stdout).
  SerialOutput(boost::asio::io_context& io, int fd, UniqueFd owned = {});

  void write(std::span<const std::uint8_t> bytes) override;
  void flush();

  std::uint64_t bytes_written() const;

 private:
  void write_out(const std::vector<std::uint8_t>& bytes);

  boost::asio::io_context& io_;
  int fd_;
  UniqueFd owned_;
  std::mutex buffer_mutex_;
  std::vector<std::uint8_t> buffer_;
  bool flush_posted_ = false;
  std::mutex fd_mutex_;  // keeps writes from the loop and from producers in order
  std::uint64_t bytes_written_ = 0;
  bool broken_ = false;  // the reader went away: later bytes are dropped, and counted
};

}  // namespace vmm
