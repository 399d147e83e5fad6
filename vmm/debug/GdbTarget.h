#pragma once
// The debugger's view of the machine: every vCPU stopped or running together
// (GDB's all-stop mode), their registers, guest memory at virtual addresses,
// and breakpoints, software (int3 planted in guest memory) and hardware (the
// debug registers, through KVM_SET_GUEST_DEBUG). The protocol layer
// (GdbSession) drives it from the event loop; vCPU threads reach it through
// DebugHooks.
//
// Registers and KVM_SET_GUEST_DEBUG are used from the event loop, only while
// every vCPU is parked outside KVM_RUN, which is when KVM allows it.

#include <linux/kvm.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "vmm/GuestMemory.h"
#include "vmm/kvm/Vcpu.h"
#include "vmm/kvm/VcpuRunner.h"
#include "vmm/debug/X86Registers.h"

namespace vmm::debug {

class GdbTarget final : public DebugHooks {
 public:
  struct Stop {
    std::uint32_t vcpu = 0;
    int signal = 5;      // SIGTRAP; SIGINT (2) for an interrupt from GDB
    std::string reason;  // stop-reply extras, e.g. "hwbreak:;" or "watch:ADDR;"
  };
  enum class Result { Done, Unsupported, Failed };
  // What each vCPU does when the debugger resumes (vCont): a vCPU given no
  // action stays stopped.
  enum class Resume { Stay, Continue, Step };

  // `kick(i)` brings vCPU i out of KVM_RUN. With `start_stopped` every vCPU
  // parks before its first instruction (--gdb-wait). `hardware_slots` debug
  // registers are the debugger's: 4, or 3 where the SYSCALL fix-up keeps the
  // fourth (vmm/kvm/GuestDebug.h).
  GdbTarget(std::vector<Vcpu*> vcpus, GuestMemory& memory, std::function<void(std::uint32_t)> kick,
            std::function<bool()> machine_stopping, bool start_stopped, int guest_debug_capabilities,
            unsigned hardware_slots = 4);

  std::uint32_t vcpu_count() const { return static_cast<std::uint32_t>(vcpus_.size()); }

  // --- event loop side ---
  // Told, on a vCPU thread, that a vCPU stopped: post to the loop, nothing more.
  void set_stop_listener(std::function<void()> listener);
  // Asks every vCPU to stop (GDB's Ctrl-C, or a client attaching to a running VM).
  void interrupt();
  // Waits until every vCPU is parked (or the machine is stopping); false on timeout.
  bool wait_until_stopped(std::chrono::milliseconds limit);
  bool stopped() const;
  // The event that stopped the machine; empty while running.
  std::optional<Stop> stop_event() const;
  // One action per vCPU; a stepping vCPU executes one instruction and stops
  // the machine.
  void resume(const std::vector<Resume>& actions);
  // Removes every breakpoint and resumes (GDB detached or went away).
  void release();

  X86Registers registers(std::uint32_t vcpu) const;
  void set_registers(std::uint32_t vcpu, const X86Registers& registers);
  // Virtual addresses, translated through vCPU `vcpu`'s page tables. Reads
  // hide planted int3s. Partial reads stop at the first unmapped page.
  std::vector<std::uint8_t> read_memory(std::uint32_t vcpu, std::uint64_t address, std::size_t length) const;
  bool write_memory(std::uint32_t vcpu, std::uint64_t address, const std::vector<std::uint8_t>& bytes);

  // GDB's Z types: 0 software, 1 hardware, 2 write, 3 read (x86 has none), 4 access.
  Result insert_breakpoint(std::uint32_t vcpu, unsigned type, std::uint64_t address, unsigned length);
  Result remove_breakpoint(unsigned type, std::uint64_t address, unsigned length);

  // --- DebugHooks, on vCPU threads ---
  // One load while every vCPU runs; the lock only while some are held.
  bool must_park(std::uint32_t vcpu) const override {
    if (stop_requested_.load(std::memory_order_acquire)) return true;
    if (!partial_.load(std::memory_order_acquire)) return false;
    std::lock_guard lock(mutex_);
    return !released_[vcpu];
  }
  void park(std::uint32_t vcpu) override;
  void debug_exit(std::uint32_t vcpu, const kvm_debug_exit_arch& exit) override;
  bool is_software_breakpoint(std::uint64_t linear_address) const override;
  // The machine is stopping: parked vCPUs leave.
  void wake_parked();

 private:
  struct SoftwareBreakpoint {
    std::uint64_t physical;
    std::uint8_t original;
  };
  struct HardwareSlot {
    bool used = false;
    unsigned type = 1;  // GDB's Z type
    std::uint64_t address = 0;
    unsigned length = 1;
  };

  std::optional<std::uint64_t> physical(std::uint32_t vcpu, std::uint64_t address) const;
  void request_stop(const Stop& stop);
  kvm_guest_debug guest_debug(bool stepping) const;

  std::vector<Vcpu*> vcpus_;
  GuestMemory& memory_;
  std::function<void(std::uint32_t)> kick_;
  std::function<bool()> machine_stopping_;
  int capabilities_;
  unsigned hardware_slots_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> partial_{false};  // some vCPUs were left stopped by the last resume
  std::uint32_t parked_ = 0;
  std::vector<bool> released_;  // which parked vCPUs the last resume let go
  std::optional<Stop> stop_;
  std::function<void()> listener_;

  // Event loop only, except is_software_breakpoint(), which reads under mutex_.
  std::map<std::uint64_t, SoftwareBreakpoint> software_;
  std::array<HardwareSlot, 4> hardware_{};
  // What each vCPU was last given; its own thread reads it to reinject a #BP.
  std::vector<kvm_guest_debug> applied_;
};

}  // namespace vmm::debug
