#pragma once
// The serial console's output side: a bounded buffer between the UART (vCPU
// threads) and wherever the bytes go. A writer thread of its own does the
// write() calls, so a slow terminal or socket never stalls the event loop (and
// its PIT deadlines), and stdout never has to be switched to non-blocking mode,
// which would leak into the shell that shares it. When the buffer is full the
// UART keeps bytes in its FIFO and the guest waits; the space callback tells the
// UART to go on. Nothing is dropped except after the reader is gone for good
// (stdout closed), and that is counted.
//
// A guest streaming output writes a byte per exit. Waking the writer for each
// would cost the vCPU thread a futex syscall per byte and the writer a write()
// per byte, so while output streams the writer gathers for up to kGather before
// it writes, and producers wake it only when it sleeps for want of data. The
// first byte after a quiet spell still goes out at once (echo stays prompt).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "devices/ByteSink.h"
#include "vmm/security/SeccompFilters.h"

namespace vmm {

class OutputPump final : public ByteSink {
 public:
  static constexpr std::size_t kCapacity = 64 * 1024;
  static constexpr std::chrono::microseconds kGather{500};
  static constexpr std::size_t kGatherBytes = 4096;  // enough gathered: write without waiting longer

  // The writer thread confines itself with `seccomp`'s serial-writer allow-list
  // before it writes anything; throws HostError if it could not.
  explicit OutputPump(const security::SeccompFilters& seccomp);
  ~OutputPump() override;

  std::size_t write(std::span<const std::uint8_t> bytes) override;

  // Called on the writer thread when a producer that was refused may write again.
  void set_space_callback(std::function<void()> callback);

  // Bytes go to `fd` (borrowed) from now on. With `permanent`, a failed write means
  // the reader is gone for good and later output is discarded (stdout); otherwise
  // the output is kept for the next attach (a socket client that left).
  void attach(int fd, bool permanent);
  // Stops using the fd; returns once no write to it is in progress.
  void detach();

  // Writes out everything buffered, waiting up to `limit_ms` for a slow reader.
  // Returns the number of bytes that could not be delivered.
  std::size_t drain(int limit_ms);

  // Taken from the UART, delivered to the reader, and discarded (a reader gone
  // for good); once drained, accepted = delivered + what drain() reported.
  std::uint64_t bytes_accepted() const { return accepted_.load(std::memory_order_relaxed); }
  std::uint64_t bytes_delivered() const { return delivered_.load(std::memory_order_relaxed); }
  std::uint64_t bytes_discarded() const { return discarded_.load(std::memory_order_relaxed); }

 private:
  void run();
  bool write_chunk(int fd, const std::uint8_t* data, std::size_t size, std::size_t& written);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::uint8_t> buffer_;
  int fd_ = -1;
  bool permanent_ = false;
  bool broken_ = false;    // a permanent reader went away: discard from now on
  bool writing_ = false;   // the writer is inside write() on fd_
  bool starved_ = false;   // a producer was refused room
  bool stopping_ = false;
  bool idle_ = false;      // the writer sleeps until there is data: a producer must wake it
  std::function<void()> on_space_;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> discarded_{0};
  std::thread writer_;
};

}  // namespace vmm
