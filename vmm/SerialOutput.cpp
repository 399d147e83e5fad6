#include "vmm/SerialOutput.h"

#include <poll.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>

namespace vmm {

SerialOutput::SerialOutput(boost::asio::io_context& io, int fd, UniqueFd owned)
    : io_(io), fd_(fd), owned_(std::move(owned)) {}

void SerialOutput::write(std::span<const std::uint8_t> bytes) {
  std::unique_lock lock(buffer_mutex_);
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  if (buffer_.size() >= kBufferBound) {
    std::vector<std::uint8_t> pending;
    pending.swap(buffer_);
    std::lock_guard out(fd_mutex_);  // taken before releasing the buffer, to keep order
    lock.unlock();
    write_out(pending);
    return;
  }
  if (!flush_posted_) {
    flush_posted_ = true;
    boost::asio::post(io_, [this] { flush(); });
  }
}

void SerialOutput::flush() {
  std::unique_lock lock(buffer_mutex_);
  flush_posted_ = false;
  std::vector<std::uint8_t> pending;
  pending.swap(buffer_);
  std::lock_guard out(fd_mutex_);
  lock.unlock();
  write_out(pending);
}

std::uint64_t SerialOutput::bytes_written() const {
  std::lock_guard out(const_cast<std::mutex&>(fd_mutex_));
  return bytes_written_;
}

void SerialOutput::write_out(const std::vector<std::uint8_t>& bytes) {
  std::size_t done = 0;
  while (!broken_ && done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      bytes_written_ += static_cast<std::uint64_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      pollfd writable{fd_, POLLOUT, 0};
      ::poll(&writable, 1, -1);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      broken_ = true;  // EPIPE and friends: nobody is reading any more
    }
  }
}

}  // namespace vmm
