#include "vmm/serial/OutputPump.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>

#include "vmm/Errors.h"

namespace vmm {

OutputPump::OutputPump(const security::SeccompFilters& seccomp) {
  buffer_.reserve(kCapacity);
  std::promise<std::string> confined;
  auto confinement = confined.get_future();
  writer_ = std::thread([this, &seccomp, &confined] {
    // Signals belong to the event loop, except SIGUSR1, which the destructor uses
    // to break a write() to a reader that never reads (its handler is a no-op
    // installed without SA_RESTART by VcpuRunner::install_kick_handler).
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    pthread_setname_np(pthread_self(), "serial-out");
    try {
      seccomp.confine_current_thread(security::ThreadKind::SerialWriter);
      confined.set_value("");
    } catch (const std::exception& error) {
      confined.set_value(error.what());
      return;
    }
    run();
  });
  if (const std::string error = confinement.get(); !error.empty()) {
    writer_.join();
    throw HostError(error);
  }
}

OutputPump::~OutputPump() {
  bool stuck_in_write;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    stuck_in_write = writing_;
  }
  changed_.notify_all();
  if (stuck_in_write) pthread_kill(writer_.native_handle(), SIGUSR1);
  writer_.join();
}

std::size_t OutputPump::write(std::span<const std::uint8_t> bytes) {
  std::unique_lock lock(mutex_);
  if (broken_) {
    discarded_.fetch_add(bytes.size(), std::memory_order_relaxed);
    return bytes.size();
  }
  const std::size_t room = kCapacity - buffer_.size();
  const std::size_t taken = std::min(room, bytes.size());
  if (taken < bytes.size()) starved_ = true;
  if (taken == 0) return 0;
  const std::size_t before = buffer_.size();
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(taken));
  // Gathering, the writer wants to hear only that a batch is complete.
  const bool wake_writer = idle_ || (before < kGatherBytes && buffer_.size() >= kGatherBytes);
  idle_ = false;
  accepted_.fetch_add(taken, std::memory_order_relaxed);
  lock.unlock();
  if (wake_writer) changed_.notify_all();
  return taken;
}

void OutputPump::set_space_callback(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  on_space_ = std::move(callback);
}

void OutputPump::attach(int fd, bool permanent) {
  {
    std::lock_guard lock(mutex_);
    fd_ = fd;
    permanent_ = permanent;
  }
  changed_.notify_all();
}

void OutputPump::detach() {
  std::unique_lock lock(mutex_);
  fd_ = -1;
  changed_.wait(lock, [this] { return !writing_; });
}

std::size_t OutputPump::drain(int limit_ms) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::milliseconds(limit_ms),
                    [this] { return (buffer_.empty() && !writing_) || fd_ < 0 || broken_; });
  return buffer_.size();
}

bool OutputPump::write_chunk(int fd, const std::uint8_t* data, std::size_t size, std::size_t& written) {
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      std::lock_guard lock(mutex_);
      if (stopping_) return true;
      continue;
    }
    if (n < 0 && errno == EAGAIN) {  // a non-blocking socket: wait, but notice a detach
      pollfd writable{fd, POLLOUT, 0};
      ::poll(&writable, 1, 100);
      std::lock_guard lock(mutex_);
      if (fd_ != fd || stopping_) return true;
      continue;
    }
    return false;
  }
  return true;
}

void OutputPump::run() {
  std::vector<std::uint8_t> chunk;
  std::unique_lock lock(mutex_);
  auto last_write = std::chrono::steady_clock::time_point{};
  while (true) {
    idle_ = true;
    changed_.wait(lock, [this] { return stopping_ || (fd_ >= 0 && !buffer_.empty()); });
    idle_ = false;
    if (stopping_) return;  // drain() already waited for what could be written
    if (std::chrono::steady_clock::now() - last_write < 2 * kGather) {
      // Streaming: gather more before the next write() (no producer wakes us).
      changed_.wait_until(lock, last_write + kGather,
                          [this] { return stopping_ || fd_ < 0 || buffer_.size() >= kGatherBytes; });
      if (stopping_) return;
      if (fd_ < 0 || buffer_.empty()) continue;
    }
    const int fd = fd_;
    chunk.assign(buffer_.begin(), buffer_.end());
    writing_ = true;
    lock.unlock();

    std::size_t written = 0;
    const bool ok = write_chunk(fd, chunk.data(), chunk.size(), written);
    delivered_.fetch_add(written, std::memory_order_relaxed);

    lock.lock();
    last_write = std::chrono::steady_clock::now();
    writing_ = false;
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(written));
    if (!ok) {
      if (permanent_) {
        broken_ = true;  // stdout is closed: keep the guest running, drop its output
        discarded_.fetch_add(buffer_.size(), std::memory_order_relaxed);
        buffer_.clear();
      }
      if (fd_ == fd) fd_ = -1;  // a socket client left: keep the rest for the next one
    }
    const bool wake_producer = starved_ && buffer_.size() < kCapacity;
    if (wake_producer) starved_ = false;
    auto on_space = on_space_;
    lock.unlock();
    changed_.notify_all();
    if (wake_producer && on_space) on_space();
    lock.lock();
  }
}

}  // namespace vmm
