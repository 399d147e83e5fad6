#include "vmm/security/AllowList.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "base/KvmAbi.h"

namespace vmm::security {

namespace {

using enum ThreadKind;

const std::vector<ThreadKind> kAll = {EventLoop, Vcpu, SerialWriter};

#define REQUEST(name) static_cast<std::uint64_t>(name)

ArgumentCondition requests(std::vector<std::uint64_t> values, std::vector<std::string_view> names) {
  return {ArgumentCondition::Test::OneOf, 1, std::move(values), 0, std::move(names)};
}

// mmap and mprotect: never executable memory. vmm generates no code; a thread
// that wants PROT_EXEC has been subverted.
ArgumentCondition not_executable() { return {ArgumentCondition::Test::MaskedBitsClear, 2, {}, PROT_EXEC, {}}; }

const std::vector<AllowedSyscall>& table() {
  static const std::vector<AllowedSyscall> kTable = {
      // Every thread: memory, locks, signals, the end of a thread or of vmm.
      {"futex", kAll, {}, "std::mutex and std::condition_variable (the pause gate, the output pump, device locks)"},
      {"brk", kAll, {}, "malloc growing the main heap"},
      {"mmap", kAll, not_executable(), "malloc's arenas and large blocks; never PROT_EXEC"},
      {"munmap", kAll, {}, "free() of large blocks and arenas"},
      {"mremap", kAll, {}, "realloc() of large blocks"},
      {"mprotect", kAll, not_executable(), "malloc making an arena's reserved pages usable; never PROT_EXEC"},
      {"madvise", kAll, {}, "free() returning pages; a thread's stack released as it ends"},
      {"write", kAll, {},
       "stderr reports from any thread; eventfds (irqfd lines, the event loop's wake-up); the serial output fd; "
       "control replies"},
      {"clock_gettime", kAll, {}, "steady_clock where the vDSO cannot answer"},
      {"rt_sigprocmask", kAll, {}, "glibc's pthread_kill() blocks signals around its tgkill"},
      {"rt_sigreturn", kAll, {}, "return from the kick handler (SIGUSR1) that breaks KVM_RUN or a stuck write()"},
      {"getpid", kAll, {}, "pthread_kill() (vCPU kicks) and raise() name the process"},
      {"gettid", kAll, {}, "raise() names the thread"},
      {"tgkill", kAll, {}, "kicking a vCPU thread out of KVM_RUN (pause, stop, NMI); raise()"},
      {"sched_yield", kAll, {}, "glibc's lock back-off"},
      {"exit", kAll, {}, "a thread ending"},
      {"exit_group", kAll, {}, "vmm ending, from main() or from a report that must end it at once"},

      // vCPU threads: the KVM_RUN loop and its exits.
      {"ioctl", {Vcpu},
       requests({REQUEST(KVM_RUN), REQUEST(KVM_GET_REGS), REQUEST(KVM_SET_REGS), REQUEST(KVM_GET_SREGS),
                 REQUEST(KVM_SET_SREGS), REQUEST(KVM_NMI), REQUEST(KVM_SET_GUEST_DEBUG),
                 REQUEST(KVM_GET_VCPU_EVENTS), REQUEST(KVM_SET_VCPU_EVENTS), REQUEST(KVM_GET_FPU),
                 REQUEST(KVM_SET_FPU), REQUEST(kvm_abi::kGetMsrs), REQUEST(kvm_abi::kSetMsrs)},
                {"KVM_RUN", "KVM_GET_REGS", "KVM_SET_REGS", "KVM_GET_SREGS", "KVM_SET_SREGS", "KVM_NMI",
                 "KVM_SET_GUEST_DEBUG", "KVM_GET_VCPU_EVENTS", "KVM_SET_VCPU_EVENTS", "KVM_GET_FPU", "KVM_SET_FPU",
                 "KVM_GET_MSRS", "KVM_SET_MSRS"}),
       "KVM_RUN; the guest state in a crash report and at a breakpoint; an NMI asked for through the control "
       "socket; under GDB, the guest's own int3 given back to it; an instruction this host's emulator failed on, "
       "carried out (RIP moved past it, #BP or #GP injected, MXCSR loaded or stored, SYSRET's and SWAPGS's "
       "segments and MSRs); a SYSCALL this host left in ring 3, completed (the #PF handler's breakpoint, the "
       "frame, STAR, LSTAR and FMASK read, CS, SS, RIP and RSP set)"},
      {"epoll_ctl", {Vcpu}, {},
       "Boost.Asio wakes the event loop this way when a vCPU posts work to it (PIT deadlines, UART input room, stop)"},

      // The event loop (main thread): timers, sockets, signals, the end of the run.
      {"epoll_wait", {EventLoop}, {}, "the Boost.Asio reactor"},
      {"epoll_pwait", {EventLoop}, {}, "the Boost.Asio reactor (glibc may use this form)"},
      {"epoll_ctl", {EventLoop}, {}, "the Boost.Asio reactor registering sockets and timers"},
      {"read", {EventLoop}, {}, "stdin, the reactor's eventfd and timerfd, resample eventfds (EOIs of level lines)"},
      {"readv", {EventLoop}, {}, "Boost.Asio reads into buffer sequences"},
      {"recvfrom", {EventLoop}, {}, "control and serial socket clients"},
      {"recvmsg", {EventLoop}, {}, "control and serial socket clients (Boost.Asio's scatter reads)"},
      {"writev", {EventLoop}, {}, "Boost.Asio writes of buffer sequences"},
      {"sendto", {EventLoop}, {}, "control replies"},
      {"sendmsg", {EventLoop}, {}, "control replies (Boost.Asio's gather writes)"},
      {"accept", {EventLoop}, {}, "a control or serial socket client connecting"},
      {"accept4", {EventLoop}, {}, "a control or serial socket client connecting"},
      {"shutdown", {EventLoop}, {}, "closing a client's socket"},
      {"close", {EventLoop}, {}, "a client leaving; every fd at the end of the run"},
      {"timerfd_settime", {EventLoop}, {}, "PIT deadlines, the injection timeline, --timeout"},
      {"timerfd_gettime", {EventLoop}, {}, "Boost.Asio's timer queue"},
      {"fcntl", {EventLoop}, {}, "non-blocking client sockets; stdin's flags restored at the end"},
      {"ioctl", {EventLoop},
       requests({REQUEST(FIONBIO), REQUEST(TCGETS), REQUEST(TCSETS), REQUEST(TCSETSW), REQUEST(TCSETSF),
                 REQUEST(KVM_IRQFD), REQUEST(KVM_GET_REGS), REQUEST(KVM_SET_REGS), REQUEST(KVM_GET_SREGS),
                 REQUEST(KVM_SET_SREGS), REQUEST(KVM_SET_GUEST_DEBUG)},
                {"FIONBIO", "TCGETS", "TCSETS", "TCSETSW", "TCSETSF", "KVM_IRQFD", "KVM_GET_REGS", "KVM_SET_REGS",
                 "KVM_GET_SREGS", "KVM_SET_SREGS", "KVM_SET_GUEST_DEBUG"}),
       "non-blocking client sockets; the terminal's mode given back at the end; irqfds deassigned at the end, and the PIT's deassigned and assigned again to retract an IRQ0 whose EOI was lost; "
       "the GDB stub's registers and breakpoints, while every vCPU is stopped"},
      {"mincore", {EventLoop}, {}, "guest memory resident, in the stats"},
      {"pread64", {EventLoop}, {}, "KVM's per-vCPU statistics fds, in the stats"},
      {"fstat", {EventLoop}, {}, "stdio's buffering of the --stats file, written at the end"},
      {"newfstatat", {EventLoop}, {}, "stdio's buffering of the --stats file (glibc's fstat)"},
      {"lseek", {EventLoop}, {}, "stdio closing the --stats file"},
      {"unlink", {EventLoop}, {}, "removing vmm's own control and serial sockets at the end"},
      {"rt_sigaction", {EventLoop}, {}, "Boost.Asio's signal_set giving SIGINT, SIGTERM and SIGHUP back at the end"},

      // The serial writer: moves the guest's output to its fd.
      {"poll", {SerialWriter}, {}, "waiting for a non-blocking socket client to take more output"},

#ifdef VMM_SANITIZER_BUILD
      // The sanitizers' runtimes, in their builds only: ASan checks whether
      // memory is readable by writing it into a pipe (IsAccessibleMemoryRange,
      // as a thread ends), and closes the pipe.
      {"pipe2", kAll, {}, "sanitizer runtime: probing whether memory is readable"},
      {"close", {Vcpu, SerialWriter}, {}, "sanitizer runtime: closing its probe pipe"},
      {"sigaltstack", kAll, {}, "sanitizer runtime: its alternate signal stack, removed as a thread ends"},
      // LeakSanitizer's check as vmm exits, on the main thread: it clones a
      // tracer (which inherits the event loop's filter) that lists the threads
      // in /proc/self/task and ptrace()s each to read its registers.
      {"clone", {EventLoop}, {}, "sanitizer runtime: LeakSanitizer's tracer"},
      {"wait4", {EventLoop}, {}, "sanitizer runtime: LeakSanitizer waiting for its tracer"},
      {"prctl", {EventLoop}, {}, "sanitizer runtime: LeakSanitizer letting its tracer ptrace"},
      {"ptrace", {EventLoop}, {}, "sanitizer runtime: LeakSanitizer's tracer stopping the threads"},
      {"getppid", {EventLoop}, {}, "sanitizer runtime: LeakSanitizer's tracer"},
      {"open", {EventLoop}, {}, "sanitizer runtime: LeakSanitizer's tracer opening /proc/self/task"},
      {"getdents64", {EventLoop}, {}, "sanitizer runtime: LeakSanitizer's tracer listing the threads"},
      {"getdents", {EventLoop}, {}, "sanitizer runtime: LeakSanitizer's tracer listing the threads"},
#endif
  };
  return kTable;
}

#undef REQUEST

}  // namespace

std::string_view thread_kind_name(ThreadKind kind) {
  switch (kind) {
    case EventLoop: return "event loop";
    case Vcpu: return "vCPU";
    case SerialWriter: return "serial writer";
  }
  return "unknown";
}

std::span<const AllowedSyscall> allow_list() { return table(); }

std::vector<AllowedSyscall> allow_list_for(ThreadKind kind) {
  std::vector<AllowedSyscall> entries;
  for (const auto& entry : table())
    for (ThreadKind each : entry.kinds)
      if (each == kind) entries.push_back(entry);
  return entries;
}

}  // namespace vmm::security
