#include "vmm/kvm/VcpuRunner.h"

#include "vmm/kvm/ControlRegisters.h"
#include "vmm/kvm/SegmentLimit.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "vmm/ExitStatus.h"
#include "vmm/debug/PageWalk.h"
#include "vmm/trace/Tracer.h"

namespace vmm {

namespace {

constexpr int kKickSignal = SIGUSR1;
constexpr unsigned kUnclaimedLogLimit = 8;

void ignore_signal(int) {}

// Set by a vCPU thread for its own loop; -1 elsewhere. A plain int, so reading
// it on the exit path is one TLS load with no initialisation guard.
thread_local int current_vcpu_id = -1;

// One writer: a relaxed load and store, which x86 does with plain moves.
void count(std::atomic<std::uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

std::string hex_bytes(std::span<const std::uint8_t> bytes) {
  std::string text;
  char byte[4];
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(byte, sizeof byte, "%s%02x", i ? " " : "", bytes[i]);
    text += byte;
  }
  return text;
}

// The bytes of the instruction KVM's emulator failed on; empty for any other
// internal error, or when KVM did not give them.
std::span<const std::uint8_t> failed_instruction(const kvm_run& run) {
  if (run.internal.suberror != KVM_INTERNAL_ERROR_EMULATION) return {};
  const auto& failure = run.emulation_failure;
  if (failure.ndata < 3 || !(failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) return {};
  return {failure.insn_bytes, std::min<std::size_t>(failure.insn_size, sizeof failure.insn_bytes)};
}

// The general-purpose registers in the order x86 encodes them (ModRM, REX),
// as an instruction's operands name them; const for a const `regs`.
template <typename Regs>
auto registers_by_number(Regs& regs) {
  return std::array{&regs.rax, &regs.rcx, &regs.rdx, &regs.rbx, &regs.rsp, &regs.rbp, &regs.rsi, &regs.rdi,
                    &regs.r8,  &regs.r9,  &regs.r10, &regs.r11, &regs.r12, &regs.r13, &regs.r14, &regs.r15};
}

}  // namespace

void VcpuRunner::install_kick_handler() {
  struct sigaction action{};
  action.sa_handler = ignore_signal;  // no SA_RESTART: KVM_RUN must return EINTR
  sigemptyset(&action.sa_mask);
  sigaction(kKickSignal, &action, nullptr);
}

VcpuRunner::~VcpuRunner() { join(); }

std::optional<std::uint32_t> VcpuRunner::current_vcpu() {
  if (current_vcpu_id < 0) return std::nullopt;
  return static_cast<std::uint32_t>(current_vcpu_id);
}

void VcpuRunner::start() {
  thread_ = std::thread([this] { loop(); });
  // Published for kick(), which other vCPU threads call (a guest that stops
  // the machine) while this one may still be starting the later runners.
  handle_ = thread_.native_handle();
  started_.store(true, std::memory_order_release);
}

void VcpuRunner::request_nmi() {
  nmi_requested_.store(true);
  kick();
}

void VcpuRunner::kick() {
  // Set before the signal: if the thread is between exits, its next KVM_RUN
  // returns at once; if it is inside KVM_RUN, the signal brings it out.
  // Only the machine's thread joins, after request_stop() has kicked every
  // vCPU; a runner not started yet needs no signal, only immediate_exit.
  std::atomic_ref<std::uint8_t>(vcpu_.run_state().immediate_exit).store(1);
  if (started_.load(std::memory_order_acquire)) pthread_kill(handle_, kKickSignal);
}

void VcpuRunner::join() {
  // A joined thread's handle is dead: no kick may signal it any more.
  started_.store(false, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void VcpuRunner::loop() {
  // Only the event loop takes SIGINT, SIGTERM and SIGHUP; vCPU threads take the kick.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  char name[16];
  std::snprintf(name, sizeof name, "vcpu%u", vcpu_.id());
  pthread_setname_np(pthread_self(), name);
  current_vcpu_id = static_cast<int>(vcpu_.id());
  // Devices this thread drives (the UART's level, the ack port) record here too.
  if (trace_ring_) trace::Tracer::bind_current_thread(trace_ring_);
  try {
    seccomp_.confine_current_thread(security::ThreadKind::Vcpu);
  } catch (const std::exception& error) {
    control_.request_stop(exit_status::kHostError, "vCPU " + std::to_string(vcpu_.id()) + ": " + error.what());
    return;
  }

  // Whoever kicks (stop, pause) sets its flag first and immediate_exit second.
  // After a kick we clear immediate_exit and only then look at the flags, so a
  // kick is either seen in the flags or lands on the next KVM_RUN.
  std::atomic_ref<std::uint8_t> immediate_exit(vcpu_.run_state().immediate_exit);
  std::atomic_ref<__u64>(vcpu_.run_state().kvm_valid_regs).store(synced_always_, std::memory_order_relaxed);
  while (!control_.stopping()) {
    if (control_.paused()) {
      wait_while_held(false);
      continue;
    }
    if (debug_ && debug_->must_park(vcpu_.id())) {
      wait_while_held(true);
      continue;
    }
    if (nmi_requested_.exchange(false)) vcpu_.inject_nmi();
    vcpu_.apply_requested_guest_debug();
    if (syscalls_) {
      try {
        syscalls_->refresh_if_due(std::chrono::steady_clock::now(), synced_sregs());
      } catch (const std::exception& error) {
        fatal(exit_status::kHostError, std::string("SYSCALL fix-up: ") + error.what() + "; guest state:");
        return;
      }
    }
    const Step step = trace_ring_ ? run_once<true>(immediate_exit) : run_once<false>(immediate_exit);
    if (step == Step::Stop) return;
  }
}

void VcpuRunner::wait_while_held(bool for_debugger) {
  const std::uint64_t since = trace_ring_ ? trace::Tracer::now_ns() : 0;
  if (for_debugger)
    debug_->park(vcpu_.id());
  else
    control_.wait_while_paused();
  if (trace_ring_)
    trace_ring_->push({.start = since, .end = trace::Tracer::now_ns(), .kind = trace::RecordKind::Paused,
                       .sub = for_debugger, .track = vcpu_.id()});
}

template <bool kTraced>
VcpuRunner::Step VcpuRunner::run_once(std::atomic_ref<std::uint8_t>& immediate_exit) {
  std::uint64_t entered = 0, exited = 0;
  if constexpr (kTraced) entered = trace::Tracer::now_ns();
  const int error = vcpu_.run();
  if constexpr (kTraced) exited = trace::Tracer::now_ns();
  exited_once_ = true;
  if (error == EINTR || error == EAGAIN) {
    immediate_exit.store(0);
    if (samples_ && sample_requested_.exchange(false, std::memory_order_relaxed)) take_sample();
    if constexpr (kTraced)
      trace_ring_->push({.start = entered, .end = exited, .a = exited, .kind = trace::RecordKind::KvmRun,
                         .sub = KVM_EXIT_INTR, .track = vcpu_.id()});
    return Step::Next;
  }
  if (error != 0) {
    control_.request_stop(exit_status::kHostError,
                          "vCPU " + std::to_string(vcpu_.id()) + ": KVM_RUN failed: " + std::strerror(error));
    return Step::Stop;
  }
  exits_.fetch_add(1, std::memory_order_relaxed);
  const kvm_run& run = vcpu_.run_state();
  count(exits_by_reason_[run.exit_reason % kExitReasons]);
  const bool go_on = handle_exit();
  if constexpr (kTraced) {
    trace::Record record{.start = entered, .end = trace::Tracer::now_ns(), .a = exited,
                         .kind = trace::RecordKind::KvmRun, .sub = static_cast<std::uint16_t>(run.exit_reason),
                         .track = vcpu_.id()};
    if (run.exit_reason == KVM_EXIT_IO) {
      record.b = run.io.port;
      record.c = run.io.size | (run.io.direction == KVM_EXIT_IO_OUT ? 1u : 0u) << 8 |
                 static_cast<std::uint64_t>(run.io.count) << 16;
    } else if (run.exit_reason == KVM_EXIT_MMIO) {
      record.b = run.mmio.phys_addr;
      record.c = run.mmio.len | (run.mmio.is_write ? 1u : 0u) << 8 | 1u << 16;
    }
    trace_ring_->push(record);
  }
  return go_on ? Step::Next : Step::Stop;
}

void VcpuRunner::take_sample() {
  const auto began = std::chrono::steady_clock::now();
  // CS's RPL is the CPL; real mode runs at 0.
  const auto count = [this](const kvm_regs& regs, const kvm_sregs& sregs) {
    samples_->add((sregs.cr0 & 1) ? sregs.cs.selector & 3 : 0, sregs.cs.base + regs.rip);
  };
  kvm_run& run = vcpu_.run_state();
  std::atomic_ref<__u64> valid(run.kvm_valid_regs);
  // REGS only ever comes from request_sample().
  if (sync_regs_ && (valid.load(std::memory_order_relaxed) & KVM_SYNC_X86_REGS)) {
    count(run.s.regs.regs, run.s.regs.sregs);
    valid.store(synced_always_, std::memory_order_relaxed);
  } else {
    try {
      count(vcpu_.regs(), vcpu_.sregs());
    } catch (const std::exception&) {
      return;  // a vCPU KVM cannot describe now is not sampled; the run goes on
    }
  }
  samples_->add_cost(std::chrono::steady_clock::now() - began);
}

void VcpuRunner::fatal(int status, const std::string& what) {
  control_.request_stop(status, "vCPU " + std::to_string(vcpu_.id()) + ": " + what + "\n" +
                                    vcpu_.describe_registers());
}

bool VcpuRunner::handle_exit() {
  kvm_run& run = vcpu_.run_state();
  switch (run.exit_reason) {
    case KVM_EXIT_IO: handle_io(run); return true;
    case KVM_EXIT_MMIO: handle_mmio(run); return true;
    case KVM_EXIT_INTR: return true;
    case KVM_EXIT_HLT:
      // With the in-kernel irqchip KVM handles HLT itself; an HLT exit means the
      // guest halted with nothing that could wake it.
      control_.request_stop(exit_status::kSuccess, "");
      return false;
    case KVM_EXIT_SHUTDOWN: fatal(exit_status::kGuestCrash, "triple fault (KVM_EXIT_SHUTDOWN); guest state:"); return false;
    case KVM_EXIT_FAIL_ENTRY: {
      char what[128];
      std::snprintf(what, sizeof what, "KVM_EXIT_FAIL_ENTRY, hardware entry failure reason 0x%llx on CPU %u",
                    static_cast<unsigned long long>(run.fail_entry.hardware_entry_failure_reason),
                    run.fail_entry.cpu);
      fatal(exit_status::kGuestCrash, what);
      return false;
    }
    case KVM_EXIT_DEBUG:
      try {
        return handle_debug_exit(run.debug.arch);
      } catch (const std::exception& error) {
        fatal(exit_status::kHostError, std::string("SYSCALL fix-up failed: ") + error.what() + "; guest state:");
        return false;
      }
    case KVM_EXIT_INTERNAL_ERROR: {
      if (const auto int3 = planted_int3(run)) {
        // Reported as KVM_EXIT_DEBUG would on hardware: #BP at the int3, which
        // has not executed (RIP still points at it).
        kvm_debug_exit_arch exit{};
        exit.exception = 3;
        exit.pc = *int3;
        debug_->debug_exit(vcpu_.id(), exit);
        return true;
      }
      try {
        const std::uint64_t began = trace::Tracer::now_ns();
        if (apply_emulation_fixup(run)) {
          fixup_ns_.fetch_add(trace::Tracer::now_ns() - began, std::memory_order_relaxed);
          return true;
        }
      } catch (const std::exception& error) {
        fatal(exit_status::kHostError, std::string("emulation fix-up failed: ") + error.what() + "; guest state:");
        return false;
      }
      std::string what = "KVM_EXIT_INTERNAL_ERROR, suberror " + std::to_string(run.internal.suberror);
      if (run.internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
        what += " (instruction emulation failed)";
        if (const auto bytes = failed_instruction(run); !bytes.empty()) what += "; instruction bytes: " + hex_bytes(bytes);
      }
      fatal(exit_status::kGuestCrash, what + "; guest state:");
      return false;
    }
    case KVM_EXIT_SYSTEM_EVENT:
      switch (run.system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN: control_.request_stop(exit_status::kSuccess, ""); return false;
        case KVM_SYSTEM_EVENT_RESET: control_.request_stop(exit_status::kSuccess, "guest requested a reset"); return false;
        case KVM_SYSTEM_EVENT_CRASH: fatal(exit_status::kGuestCrash, "guest reported a crash; guest state:"); return false;
        default:
          fatal(exit_status::kUnexpectedExit,
                "unexpected KVM_EXIT_SYSTEM_EVENT type " + std::to_string(run.system_event.type) + "; guest state:");
          return false;
      }
    default:
      fatal(exit_status::kUnexpectedExit,
            "unexpected exit reason " + std::to_string(run.exit_reason) + "; guest state:");
      return false;
  }
}

bool VcpuRunner::handle_debug_exit(const kvm_debug_exit_arch& exit) {
  if (syscalls_) {
    const auto outcome = syscalls_->on_debug_exit(exit, synced_sregs());
    if (outcome.verdict == SyscallCompletion::Verdict::Completed) note_fixup(EmulationFixup::Kind::Syscall, "syscall");
    if (outcome.verdict != SyscallCompletion::Verdict::NotOurs && !(outcome.debugger_too && debug_)) return true;
  }
  if (debug_) {
    debug_->debug_exit(vcpu_.id(), exit);
    return true;
  }
  if (!syscalls_) {
    fatal(exit_status::kUnexpectedExit, "KVM_EXIT_DEBUG without a debugger; guest state:");
    return false;
  }
  // The guest's own #DB (its TF, an icebp), which KVM intercepts while the
  // fix-up's breakpoint is set: given back to it. Its DR6 is not updated.
  kvm_vcpu_events events = vcpu_.events();
  events.flags = 0;
  events.exception.injected = 1;
  events.exception.pending = 0;
  events.exception.nr = exit.exception;
  events.exception.has_error_code = 0;
  vcpu_.set_events(events);
  return true;
}

std::optional<std::uint64_t> VcpuRunner::planted_int3(const kvm_run& run) {
  if (!debug_) return std::nullopt;
  const auto bytes = failed_instruction(run);
  if (bytes.empty() || bytes[0] != 0xcc) return std::nullopt;
  const std::uint64_t linear = vcpu_.sregs().cs.base + vcpu_.regs().rip;
  if (!debug_->is_software_breakpoint(linear)) return std::nullopt;
  return linear;
}

bool VcpuRunner::apply_emulation_fixup(const kvm_run& run) {
  const auto bytes = failed_instruction(run);
  if (bytes.empty()) return false;
  const kvm_sregs sregs = vcpu_.sregs();
  const unsigned cpl = (sregs.cr0 & 1) ? sregs.cs.selector & 3 : 0;  // CS's RPL is the CPL; real mode runs at 0
  const bool code64 = (sregs.efer & x86::kEferLma) && sregs.cs.l;
  const auto fixup = EmulationFixup::find(bytes, cpl, code64);
  if (!fixup) return false;
  kvm_regs regs = vcpu_.regs();
  std::optional<x86::Fault> fault;
  bool rip_moves_past = true;
  switch (fixup->kind) {
    case EmulationFixup::Kind::Ldmxcsr:
    case EmulationFixup::Kind::Stmxcsr:
      switch (access_mxcsr(*fixup, regs, sregs)) {
        case MxcsrAccess::Done: break;
        case MxcsrAccess::ReservedBits: fault = x86::Fault{x86::kGeneralProtection, 0}; break;
        case MxcsrAccess::NotInRam: return false;  // a crash report names the instruction
      }
      break;
    case EmulationFixup::Kind::Sysret: {
      kvm_sregs next = sregs;
      const x86::SystemCallMsrs msrs{.star = vcpu_.msr(x86::kMsrStar)};
      fault = x86::sysret(regs, next, msrs, fixup->operand64);
      if (!fault) vcpu_.set_sregs(next);
      rip_moves_past = false;  // RIP is RCX now
      break;
    }
    case EmulationFixup::Kind::Lsl:
      if (!load_segment_limit(*fixup, regs, sregs)) return false;  // a crash report names the instruction
      break;
    case EmulationFixup::Kind::Swapgs: {
      kvm_sregs next = sregs;
      x86::SystemCallMsrs msrs{.kernel_gs_base = vcpu_.msr(x86::kMsrKernelGsBase)};
      x86::swapgs(next, msrs);
      vcpu_.set_msr(x86::kMsrKernelGsBase, msrs.kernel_gs_base);
      vcpu_.set_sregs(next);
      break;
    }
    default:
      break;
  }
  // A fault leaves RIP on the instruction, as the CPU's would.
  if (!fault) {
    if (rip_moves_past) regs.rip += fixup->length;
    vcpu_.set_regs(regs);
  }
  const std::optional<std::uint8_t> vector = fault ? std::optional<std::uint8_t>(fault->vector) : fixup->exception;
  if (vector || fixup->software_interrupt) {
    kvm_vcpu_events events = vcpu_.events();
    events.flags = 0;  // leave NMI, SIPI, shadow and SMM state as they are
    if (vector) {
      // A trap (#BP) comes after the instruction without an error code; a
      // fault (#GP, #UD) at it, #GP with one.
      events.exception.injected = 1;
      events.exception.pending = 0;
      events.exception.nr = *vector;
      events.exception.has_error_code = fault && fault->vector == x86::kGeneralProtection ? 1 : 0;
      events.exception.error_code = fault ? fault->error_code : 0;
    } else {
      // RIP is past the `int n` already, so the frame the CPU pushes returns
      // after it. Not as a soft interrupt (events.interrupt.soft): KVM then
      // re-derives the instruction length from the last exit (VMX's
      // VM_ENTRY_INSTRUCTION_LEN, SVM's next RIP), which an emulation failure
      // does not give. The only difference a soft interrupt makes, the gate's
      // DPL check, cannot fail at CPL 0.
      events.interrupt.injected = 1;
      events.interrupt.nr = *fixup->software_interrupt;
      events.interrupt.soft = 0;
    }
    vcpu_.set_events(events);
  }
  note_fixup(fixup->kind, fixup->instruction);
  return true;
}

void VcpuRunner::note_fixup(EmulationFixup::Kind kind, std::string_view instruction) {
  count(fixups_[static_cast<unsigned>(kind)]);
  static std::atomic<bool> reported{false};
  if (reported.exchange(true)) return;
  char what[96];
  if (kind == EmulationFixup::Kind::Syscall)
    std::snprintf(what, sizeof what, "left a SYSCALL from ring 3 in ring 3");
  else
    std::snprintf(what, sizeof what, "could not emulate %.*s at CPL 0", static_cast<int>(instruction.size()),
                  instruction.data());
  std::fprintf(stderr,
               "vmm: vCPU %u: this host's KVM %s (guest ring 0 runs in KVM's instruction emulator here, as on "
               "nested kvm_pvm); vmm carries out the instructions of its fix-up table (int3, fwait, ldmxcsr, "
               "stmxcsr, int n, sysret, swapgs, lsl) itself, completes the SYSCALLs the host leaves in ring 3, and counts "
               "each in the stats (emulation_fixups). Hardware virtualization never needs this.\n",
               vcpu_.id(), what);
}

// LSL's effect on `regs`: the limit and ZF set, or ZF clear (vmm/kvm/SegmentLimit.h).
// False when the descriptor is not in guest RAM, where the CPU would fault on
// the table itself.
bool VcpuRunner::load_segment_limit(const EmulationFixup& fixup, kvm_regs& regs, const kvm_sregs& sregs) {
  const auto by_number = registers_by_number(regs);
  const auto selector = static_cast<std::uint16_t>(*by_number[fixup.source_register]);
  const bool local = x86::selects_local_table(selector);
  const std::uint64_t table_base = local ? sregs.ldt.base : sregs.gdt.base;
  const std::uint32_t table_limit = local ? (sregs.ldt.unusable ? 0 : sregs.ldt.limit) : sregs.gdt.limit;
  std::optional<std::uint32_t> limit;
  if ((selector & ~3u) != 0 && x86::descriptor_in_table(selector, table_limit)) {
    const debug::PagingState paging{sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer};
    std::uint64_t descriptor = 0;
    for (unsigned i = 0; i < 8; ++i) {  // byte by byte: it may straddle a page boundary
      const std::uint64_t linear = table_base + x86::descriptor_offset(selector) + i;
      const auto physical = debug::translate(linear, paging, debug::read_from(memory_));
      const auto span = physical ? memory_.host_span(*physical, 1) : std::span<std::uint8_t>();
      if (span.empty()) return false;
      descriptor |= std::uint64_t{span[0]} << (8 * i);
    }
    const unsigned cpl = sregs.cs.selector & 3;
    limit = x86::lsl_limit(selector, descriptor, cpl, (sregs.efer & x86::kEferLma) != 0);
  }
  if (limit) {
    __u64& destination = *by_number[fixup.destination_register];
    destination = x86::lsl_destination(destination, *limit, fixup.operand_bytes);
    regs.rflags |= x86::kRflagsZf;
  } else {
    regs.rflags &= ~x86::kRflagsZf;
  }
  return true;
}

VcpuRunner::MxcsrAccess VcpuRunner::access_mxcsr(const EmulationFixup& fixup, const kvm_regs& regs,
                                                 const kvm_sregs& sregs) {
  const auto by_number = registers_by_number(regs);
  const auto& operand = *fixup.operand;
  std::uint64_t address = static_cast<std::uint64_t>(operand.displacement);
  if (operand.rip_relative) address += regs.rip + fixup.length;
  if (operand.base) address += *by_number[*operand.base];
  if (operand.index) address += *by_number[*operand.index] * operand.scale;
  // Byte by byte: the 4 bytes may straddle a page boundary.
  const debug::PagingState paging{sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer};
  std::uint8_t* host[4];
  for (unsigned i = 0; i < 4; ++i) {
    const auto physical = debug::translate(address + i, paging, debug::read_from(memory_));
    const auto span = physical ? memory_.host_span(*physical, 1) : std::span<std::uint8_t>();
    if (span.empty()) return MxcsrAccess::NotInRam;
    host[i] = span.data();
  }
  kvm_fpu fpu = vcpu_.fpu();
  if (fixup.kind == EmulationFixup::Kind::Stmxcsr) {
    for (unsigned i = 0; i < 4; ++i) *host[i] = static_cast<std::uint8_t>(fpu.mxcsr >> (8 * i));
    return MxcsrAccess::Done;
  }
  std::uint32_t value = 0;
  for (unsigned i = 0; i < 4; ++i) value |= std::uint32_t{*host[i]} << (8 * i);
  if (value & EmulationFixup::kMxcsrReserved) return MxcsrAccess::ReservedBits;
  fpu.mxcsr = value;
  vcpu_.set_fpu(fpu);
  return MxcsrAccess::Done;
}

void VcpuRunner::handle_io(kvm_run& run) {
  auto* base = reinterpret_cast<std::uint8_t*>(&run) + run.io.data_offset;
  const bool write = run.io.direction == KVM_EXIT_IO_OUT;
  count(port_accesses_[run.io.port]);
  // String I/O (rep outsb and friends) arrives as `count` accesses in a row.
  for (std::uint32_t i = 0; i < run.io.count; ++i) {
    std::span<std::uint8_t> data(base + i * run.io.size, run.io.size);
    const bool claimed = write ? io_bus_.write(run.io.port, data) : io_bus_.read(run.io.port, data);
    if (!claimed) note_unclaimed("port", run.io.port, write);
  }
}

void VcpuRunner::handle_mmio(kvm_run& run) {
  const std::size_t length = std::min<std::size_t>(run.mmio.len, sizeof run.mmio.data);
  std::span<std::uint8_t> data(run.mmio.data, length);
  const bool claimed = run.mmio.is_write ? mmio_bus_.write(run.mmio.phys_addr, data) : mmio_bus_.read(run.mmio.phys_addr, data);
  if (!claimed) note_unclaimed("MMIO address", run.mmio.phys_addr, run.mmio.is_write);
}

void VcpuRunner::note_unclaimed(const char* kind, std::uint64_t address, bool write) {
  if (unclaimed_logged_ >= kUnclaimedLogLimit) return;
  if (++unclaimed_logged_ == kUnclaimedLogLimit)
    std::fprintf(stderr, "vmm: vCPU %u: further unclaimed accesses are counted, not logged\n", vcpu_.id());
  else
    std::fprintf(stderr, "vmm: vCPU %u: %s to unclaimed %s 0x%llx\n", vcpu_.id(), write ? "write" : "read", kind,
                 static_cast<unsigned long long>(address));
}

}  // namespace vmm
