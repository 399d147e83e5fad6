#pragma once
// Whether the machine runs, is paused or is stopping, and how the run ends:
// the state every vCPU thread checks between two KVM_RUNs, kept apart from the
// threads that act on it. The first stop wins; pausing and resuming wake the
// vCPU threads that wait. Thread-safe.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

namespace vmm {

class RunState {
 public:
  // False when the run was already stopping: the first status and report stay.
  // `signal`: the host signal that stopped the run, 0 for any other end.
  bool stop(int status, std::string report, int signal = 0);
  bool stopping() const { return stopping_.load(); }

  // False when it was already paused.
  bool pause() { return !paused_.exchange(true); }
  void resume();
  bool paused() const { return paused_.load(); }
  // Blocks while paused and not stopping.
  void wait_while_paused();

  // Once stopping.
  int exit_status() const;
  std::string report() const;
  int signal() const;

 private:
  std::atomic<bool> stopping_{false};
  std::atomic<bool> paused_{false};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int exit_status_ = 0;
  std::string report_;
  int signal_ = 0;
};

}  // namespace vmm
