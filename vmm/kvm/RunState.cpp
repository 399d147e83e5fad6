#include "vmm/kvm/RunState.h"

namespace vmm {

bool RunState::stop(int status, std::string report, int signal) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_.load()) return false;
    exit_status_ = status;
    report_ = std::move(report);
    signal_ = signal;
    stopping_.store(true);
  }
  changed_.notify_all();  // vCPUs waiting in a pause
  return true;
}

void RunState::resume() {
  {
    std::lock_guard lock(mutex_);
    paused_.store(false);
  }
  changed_.notify_all();
}

void RunState::wait_while_paused() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !paused_.load() || stopping_.load(); });
}

int RunState::exit_status() const {
  std::lock_guard lock(mutex_);
  return exit_status_;
}

std::string RunState::report() const {
  std::lock_guard lock(mutex_);
  return report_;
}

int RunState::signal() const {
  std::lock_guard lock(mutex_);
  return signal_;
}

}  // namespace vmm
