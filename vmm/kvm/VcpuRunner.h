#pragma once
// One vCPU thread: KVM_RUN, then an exhaustive dispatch of the exit reason.
// Port I/O and MMIO go synchronously to the buses; fatal exits end the run with
// a guest status and a register dump; EINTR and EAGAIN are benign.

#include <array>
#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "devices/Bus.h"
#include "vmm/GuestMemory.h"
#include "vmm/kvm/Vcpu.h"
#include "vmm/kvm/EmulationFixups.h"
#include "vmm/kvm/SyscallCompletion.h"
#include "vmm/kvm/SystemCalls.h"
#include "vmm/profile/Profile.h"
#include "vmm/security/SeccompFilters.h"
#include "vmm/trace/TraceRing.h"

namespace vmm {

class RunControl {
 public:
  virtual ~RunControl() = default;
  // First caller wins; `report` is printed after the guest's output is flushed.
  virtual void request_stop(int status, std::string report) = 0;
  virtual bool stopping() const = 0;
  virtual bool paused() const = 0;
  // Blocks the calling vCPU thread while the machine is paused and not stopping.
  virtual void wait_while_paused() = 0;
};

// What a debugger (the GDB stub) needs from a vCPU loop. Without --gdb a
// runner has none, and the loop pays one predictable branch per exit.
class DebugHooks {
 public:
  virtual ~DebugHooks() = default;
  // Checked before every KVM_RUN: the debugger wants this vCPU stopped.
  virtual bool must_park(std::uint32_t vcpu) const = 0;
  // Blocks the vCPU thread until the debugger resumes it or the machine stops.
  virtual void park(std::uint32_t vcpu) = 0;
  // A KVM_EXIT_DEBUG (single-step, hardware breakpoint, software breakpoint),
  // or a software breakpoint that this host's emulator reports as a failure.
  virtual void debug_exit(std::uint32_t vcpu, const kvm_debug_exit_arch& exit) = 0;
  virtual bool is_software_breakpoint(std::uint64_t linear_address) const = 0;
};

class VcpuRunner {
 public:
  // The signal used to kick a vCPU thread out of KVM_RUN. Its handler does
  // nothing: the point is the EINTR.
  static void install_kick_handler();

  // The thread confines itself with `seccomp`'s vCPU allow-list before its first KVM_RUN.
  // `memory` is where the emulation fix-ups find their operands.
  VcpuRunner(Vcpu& vcpu, Bus& io_bus, Bus& mmio_bus, const GuestMemory& memory, RunControl& control,
             const security::SeccompFilters& seccomp)
      : vcpu_(vcpu), io_bus_(io_bus), mmio_bus_(mmio_bus), memory_(memory), control_(control), seccomp_(seccomp) {
    if (!port_accesses_) throw std::bad_alloc();
  }
  ~VcpuRunner();

  // Before start(); `hooks` outlives the runner.
  void set_debug_hooks(DebugHooks* hooks) { debug_ = hooks; }
  // Before start(), where KVM leaves SYSCALL half done (host_emulates_guest_ring0):
  // this vCPU completes them (SyscallCompletion).
  // With `sync_sregs` (KVM_CAP_SYNC_REGS), KVM leaves the special registers
  // in kvm_run at every exit, and watching the guest's IDT costs no ioctl.
  void complete_syscalls(bool sync_sregs) {
    syscalls_ = std::make_unique<SyscallCompletion>(vcpu_, memory_);
    synced_always_ = sync_sregs ? KVM_SYNC_X86_SREGS : 0;
  }
  // Before start(): with --profile, where this vCPU's samples are counted.
  // With `sync_regs` (KVM_CAP_SYNC_REGS), KVM hands the registers over in
  // kvm_run at the kicked exit, and a sample needs no ioctl.
  void set_profile(profile::VcpuSamples* samples, bool sync_regs) {
    samples_ = samples;
    sync_regs_ = sync_regs;
  }
  // With --profile: the next KVM_RUN returns at once and its RIP is counted. Any thread.
  void request_sample() {
    sample_requested_.store(true, std::memory_order_relaxed);
    // Read by KVM as the vCPU leaves KVM_RUN; the vCPU thread clears it once sampled.
    if (sync_regs_)
      std::atomic_ref<__u64>(vcpu_.run_state().kvm_valid_regs)
          .store(synced_always_ | KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS, std::memory_order_relaxed);
    kick();
  }
  // Before start(): with --trace, the ring this vCPU's thread records into.
  void set_trace_ring(trace::TraceRing* ring) { trace_ring_ = ring; }
  void start();
  // Makes the next (or current) KVM_RUN return at once. Any thread.
  void kick();
  // An NMI, injected by the vCPU thread itself before its next KVM_RUN. Any thread.
  void request_nmi();
  void join();

  std::uint64_t exits() const { return exits_.load(std::memory_order_relaxed); }
  // Where SYSCALLs are completed: whether this vCPU's fix-up has found the
  // guest's #PF handler yet. Any thread.
  bool awaits_syscall_fixup() const { return syscalls_ && !syscalls_->armed(); }

  // The id of the vCPU whose thread calls this, while it runs its loop; none on
  // any other thread. Devices that must know which vCPU touched them (the ack
  // port's per-vCPU counts) ask on the exit path.
  static std::optional<std::uint32_t> current_vcpu();

  // Written by the vCPU thread alone, with relaxed load-and-store (plain moves on
  // x86: no lock prefix, no fence), and readable from any thread at any time.
  static constexpr std::size_t kExitReasons = 64;
  static constexpr std::size_t kPorts = 65536;
  std::uint64_t exits_by_reason(std::size_t reason) const {
    return exits_by_reason_[reason].load(std::memory_order_relaxed);
  }
  std::uint64_t port_accesses(std::size_t port) const {
    return port_accesses_[port].load(std::memory_order_relaxed);
  }
  // Instructions this host's emulator failed on that the loop carried out itself.
  std::uint64_t emulation_fixups(EmulationFixup::Kind kind) const {
    return fixups_[static_cast<unsigned>(kind)].load(std::memory_order_relaxed);
  }
  // Time vmm spent carrying the fix-ups out (KVM's failed emulation and the
  // exit itself not included).
  std::uint64_t emulation_fixup_ns() const { return fixup_ns_.load(std::memory_order_relaxed); }

 private:
  void loop();
  enum class Step { Next, Stop };
  // One KVM_RUN and its exit; the traced instance also times both and records
  // them, so that without --trace the loop pays one branch per exit.
  template <bool kTraced>
  Step run_once(std::atomic_ref<std::uint8_t>& immediate_exit);
  void wait_while_held(bool for_debugger);
  void take_sample();
  // The special registers KVM left in kvm_run at the last exit; null where it
  // leaves none (no KVM_CAP_SYNC_REGS) or before the first exit.
  const kvm_sregs* synced_sregs() {
    return synced_always_ && exited_once_ ? &vcpu_.run_state().s.regs.sregs : nullptr;
  }
  // Returns false when the exit ends the run.
  bool handle_exit();
  // A failed emulation that is this host's way of reporting an int3 we
  // planted: its linear address; none for any other failure.
  std::optional<std::uint64_t> planted_int3(const kvm_run& run);
  // An emulation failure on an instruction of EmulationFixup's table: carried
  // out, counted, reported once per process. False for any other failure.
  bool apply_emulation_fixup(const kvm_run& run);
  // A KVM_EXIT_DEBUG: the SYSCALL fix-up's, the debugger's, or the guest's own #DB.
  bool handle_debug_exit(const kvm_debug_exit_arch& exit);
  // Counted, and said once per process on stderr.
  void note_fixup(EmulationFixup::Kind kind, std::string_view instruction);
  enum class MxcsrAccess { Done, ReservedBits, NotInRam };
  // ldmxcsr or stmxcsr on its operand in guest memory.
  MxcsrAccess access_mxcsr(const EmulationFixup& fixup, const kvm_regs& regs, const kvm_sregs& sregs);
  bool load_segment_limit(const EmulationFixup& fixup, kvm_regs& regs, const kvm_sregs& sregs);
  void handle_io(kvm_run& run);
  void handle_mmio(kvm_run& run);
  void fatal(int status, const std::string& what);
  void note_unclaimed(const char* kind, std::uint64_t address, bool write);

  Vcpu& vcpu_;
  Bus& io_bus_;
  Bus& mmio_bus_;
  const GuestMemory& memory_;
  RunControl& control_;
  const security::SeccompFilters& seccomp_;
  DebugHooks* debug_ = nullptr;
  std::unique_ptr<SyscallCompletion> syscalls_;
  profile::VcpuSamples* samples_ = nullptr;
  std::atomic<bool> sample_requested_{false};
  bool sync_regs_ = false;
  // What KVM copies into kvm_run at every exit, sample or not.
  __u64 synced_always_ = 0;
  bool exited_once_ = false;
  trace::TraceRing* trace_ring_ = nullptr;
  std::thread thread_;
  pthread_t handle_{};
  std::atomic<bool> started_{false};
  std::atomic<bool> nmi_requested_{false};
  std::atomic<std::uint64_t> exits_{0};
  std::array<std::atomic<std::uint64_t>, kExitReasons> exits_by_reason_{};
  std::array<std::atomic<std::uint64_t>, EmulationFixup::kKinds> fixups_{};
  std::atomic<std::uint64_t> fixup_ns_{0};
  // 512 KiB from calloc, which maps fresh zero pages for a block this large:
  // only the pages of ports in use are ever touched.
  struct FreeDeleter {
    void operator()(std::atomic<std::uint64_t>* block) const { std::free(block); }
  };
  static_assert(sizeof(std::atomic<std::uint64_t>) == sizeof(std::uint64_t) &&
                std::atomic<std::uint64_t>::is_always_lock_free);
  std::unique_ptr<std::atomic<std::uint64_t>[], FreeDeleter> port_accesses_{
      static_cast<std::atomic<std::uint64_t>*>(std::calloc(kPorts, sizeof(std::uint64_t)))};
  unsigned unclaimed_logged_ = 0;
};

}  // namespace vmm
