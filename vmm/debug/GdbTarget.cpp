#include "vmm/debug/GdbTarget.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "vmm/debug/PageWalk.h"

namespace vmm::debug {

namespace {

constexpr int kSigint = 2;
constexpr int kSigtrap = 5;
constexpr std::uint8_t kInt3 = 0xcc;
constexpr std::uint64_t kPageSize = 4096;

// DR7 (Intel SDM vol. 3, 17.2.4): bit 10 reads as one; GE (bit 9) as QEMU sets it.
constexpr std::uint64_t kDr7Fixed = 0x600;
constexpr unsigned kDr6SingleStep = 1u << 14;

unsigned dr7_type(unsigned gdb_type) {
  switch (gdb_type) {
    case 1: return 0b00;  // execute
    case 2: return 0b01;  // write
    default: return 0b11; // read or write
  }
}

std::optional<unsigned> dr7_length(unsigned bytes) {
  switch (bytes) {
    case 1: return 0b00;
    case 2: return 0b01;
    case 4: return 0b11;
    case 8: return 0b10;
    default: return std::nullopt;
  }
}

}  // namespace

GdbTarget::GdbTarget(std::vector<Vcpu*> vcpus, GuestMemory& memory, std::function<void(std::uint32_t)> kick,
                     std::function<bool()> machine_stopping, bool start_stopped, int guest_debug_capabilities,
                     unsigned hardware_slots)
    : vcpus_(std::move(vcpus)),
      memory_(memory),
      kick_(std::move(kick)),
      machine_stopping_(std::move(machine_stopping)),
      capabilities_(guest_debug_capabilities),
      hardware_slots_(std::min<unsigned>(hardware_slots, 4)),
      released_(vcpus_.size(), !start_stopped),
      applied_(vcpus_.size(), kvm_guest_debug{}) {
  if (start_stopped) {
    stop_ = Stop{0, kSigtrap, ""};
    stop_requested_.store(true);
  }
}

void GdbTarget::set_stop_listener(std::function<void()> listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

void GdbTarget::request_stop(const Stop& stop) {
  std::function<void()> listener;
  {
    std::lock_guard lock(mutex_);
    if (!stop_) stop_ = stop;  // all-stop: the first event is the one reported
    stop_requested_.store(true, std::memory_order_release);
    released_.assign(released_.size(), false);
    listener = listener_;
  }
  for (std::uint32_t id = 0; id < vcpu_count(); ++id) kick_(id);
  if (listener) listener();
}

void GdbTarget::interrupt() { request_stop(Stop{0, kSigint, ""}); }

bool GdbTarget::wait_until_stopped(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [this] { return parked_ == vcpu_count() || machine_stopping_(); }) &&
         parked_ == vcpu_count();
}

bool GdbTarget::stopped() const {
  std::lock_guard lock(mutex_);
  return stop_requested_.load() && parked_ == vcpu_count();
}

std::optional<GdbTarget::Stop> GdbTarget::stop_event() const {
  std::lock_guard lock(mutex_);
  return stop_;
}

kvm_guest_debug GdbTarget::guest_debug(bool stepping) const {
  kvm_guest_debug debug{};
  debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
  if (stepping) {
    debug.control |= KVM_GUESTDBG_SINGLESTEP;
    // Where KVM can, a step does not wander into an interrupt handler.
    if (capabilities_ & KVM_GUESTDBG_BLOCKIRQ) debug.control |= KVM_GUESTDBG_BLOCKIRQ;
  }
  std::uint64_t dr7 = 0;
  for (unsigned slot = 0; slot < hardware_.size(); ++slot) {
    const HardwareSlot& each = hardware_[slot];
    if (!each.used) continue;
    debug.arch.debugreg[slot] = each.address;
    dr7 |= (2ull << (slot * 2)) | (std::uint64_t{dr7_type(each.type)} << (16 + slot * 4)) |
           (std::uint64_t{*dr7_length(each.type == 1 ? 1 : each.length)} << (18 + slot * 4));
  }
  if (dr7) {
    debug.control |= KVM_GUESTDBG_USE_HW_BP;
    debug.arch.debugreg[7] = dr7 | kDr7Fixed;
  }
  return debug;
}

void GdbTarget::resume(const std::vector<Resume>& actions) {
  std::vector<bool> released(vcpu_count(), false);
  for (std::uint32_t id = 0; id < vcpu_count() && id < actions.size(); ++id) {
    if (actions[id] == Resume::Stay) continue;
    applied_[id] = guest_debug(actions[id] == Resume::Step);
    vcpus_[id]->request_guest_debug(applied_[id]);  // applied by the vCPU as it leaves park()
    released[id] = true;
  }
  {
    std::lock_guard lock(mutex_);
    stop_.reset();
    released_ = released;
    partial_.store(std::find(released.begin(), released.end(), false) != released.end(), std::memory_order_release);
    stop_requested_.store(false, std::memory_order_release);
  }
  changed_.notify_all();
}

void GdbTarget::release() {
  {
    std::lock_guard lock(mutex_);
    for (const auto& [address, breakpoint] : software_) {
      auto host = memory_.host_span(breakpoint.physical, 1);
      if (!host.empty()) host[0] = breakpoint.original;
    }
    software_.clear();
  }
  hardware_ = {};
  applied_.assign(vcpus_.size(), kvm_guest_debug{});
  // The guest may be running (a debugger that vanished mid-continue): each
  // vCPU takes the change on its own thread, kicked out of KVM_RUN for it.
  for (std::uint32_t id = 0; id < vcpu_count(); ++id) {
    vcpus_[id]->request_guest_debug(kvm_guest_debug{});
    kick_(id);
  }
  {
    std::lock_guard lock(mutex_);
    stop_.reset();
    released_.assign(released_.size(), true);
    partial_.store(false, std::memory_order_release);
    stop_requested_.store(false, std::memory_order_release);
  }
  changed_.notify_all();
}

void GdbTarget::park(std::uint32_t vcpu) {
  std::unique_lock lock(mutex_);
  ++parked_;
  changed_.notify_all();
  // The last vCPU to stop tells the listener too: a stop that takes longer
  // than the stub waits (a loaded host, a sanitizer build) is still reported.
  if (parked_ == vcpu_count() && stop_requested_.load() && listener_) {
    const auto listener = listener_;
    lock.unlock();
    listener();
    lock.lock();
  }
  changed_.wait(lock, [&] { return (!stop_requested_.load() && released_[vcpu]) || machine_stopping_(); });
  --parked_;
}

void GdbTarget::wake_parked() {
  { std::lock_guard lock(mutex_); }
  changed_.notify_all();
}

void GdbTarget::debug_exit(std::uint32_t vcpu, const kvm_debug_exit_arch& exit) {
  if (exit.exception == 3 && !is_software_breakpoint(exit.pc) && (capabilities_ & KVM_GUESTDBG_INJECT_BP)) {
    // The guest's own int3 (USE_SW_BP intercepts them all): give it back as
    // the #BP it would have been, and stay out of the way.
    kvm_guest_debug debug = applied_[vcpu];
    debug.control |= KVM_GUESTDBG_INJECT_BP;
    vcpus_[vcpu]->set_guest_debug(debug);
    vcpus_[vcpu]->set_guest_debug(applied_[vcpu]);
    return;
  }
  Stop stop{vcpu, kSigtrap, ""};
  if (exit.exception == 1 && !(exit.dr6 & kDr6SingleStep)) {
    for (unsigned slot = 0; slot < hardware_.size(); ++slot) {
      if (!(exit.dr6 & (1u << slot)) || !hardware_[slot].used) continue;
      const HardwareSlot& each = hardware_[slot];
      if (each.type == 2 || each.type == 4) {
        char text[48];
        std::snprintf(text, sizeof text, "%s:%llx;", each.type == 2 ? "watch" : "awatch",
                      static_cast<unsigned long long>(each.address));
        stop.reason = text;
      }
      break;
    }
  }
  request_stop(stop);
}

bool GdbTarget::is_software_breakpoint(std::uint64_t linear_address) const {
  std::lock_guard lock(mutex_);
  return software_.count(linear_address) != 0;
}

X86Registers GdbTarget::registers(std::uint32_t vcpu) const {
  const kvm_regs r = vcpus_.at(vcpu)->regs();
  const kvm_sregs s = vcpus_.at(vcpu)->sregs();
  X86Registers out;
  out.gpr = {r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp,
             r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
  out.rip = r.rip;
  out.eflags = static_cast<std::uint32_t>(r.rflags);
  out.cs = s.cs.selector;
  out.ss = s.ss.selector;
  out.ds = s.ds.selector;
  out.es = s.es.selector;
  out.fs = s.fs.selector;
  out.gs = s.gs.selector;
  out.fs_base = s.fs.base;
  out.gs_base = s.gs.base;
  out.cr0 = s.cr0;
  out.cr2 = s.cr2;
  out.cr3 = s.cr3;
  out.cr4 = s.cr4;
  out.cr8 = s.cr8;
  out.efer = s.efer;
  return out;
}

void GdbTarget::set_registers(std::uint32_t vcpu, const X86Registers& in) {
  kvm_regs r = vcpus_.at(vcpu)->regs();
  __u64* general[] = {&r.rax, &r.rbx, &r.rcx, &r.rdx, &r.rsi, &r.rdi, &r.rbp, &r.rsp,
                      &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
  for (unsigned i = 0; i < 16; ++i) *general[i] = in.gpr[i];
  r.rip = in.rip;
  r.rflags = (r.rflags & ~0xffffffffull) | in.eflags;
  vcpus_[vcpu]->set_regs(r);
  // Selectors are left alone: loading one means loading its descriptor,
  // which a register write cannot express. Bases and control registers go in.
  kvm_sregs s = vcpus_[vcpu]->sregs();
  s.fs.base = in.fs_base;
  s.gs.base = in.gs_base;
  s.cr0 = in.cr0;
  s.cr2 = in.cr2;
  s.cr3 = in.cr3;
  s.cr4 = in.cr4;
  s.cr8 = in.cr8;
  s.efer = in.efer;
  vcpus_[vcpu]->set_sregs(s);
}

std::optional<std::uint64_t> GdbTarget::physical(std::uint32_t vcpu, std::uint64_t address) const {
  const kvm_sregs s = vcpus_.at(vcpu)->sregs();
  const PagingState paging{s.cr0, s.cr3, s.cr4, s.efer};
  return translate(address, paging, read_from(memory_));
}

std::vector<std::uint8_t> GdbTarget::read_memory(std::uint32_t vcpu, std::uint64_t address, std::size_t length) const {
  std::vector<std::uint8_t> bytes;
  while (bytes.size() < length) {
    const std::uint64_t at = address + bytes.size();
    const std::size_t chunk = std::min<std::uint64_t>(length - bytes.size(), kPageSize - at % kPageSize);
    const auto where = physical(vcpu, at);
    if (!where) break;
    auto host = memory_.host_span(*where, chunk);
    if (host.empty()) break;
    bytes.insert(bytes.end(), host.begin(), host.end());
  }
  // GDB sees the guest's code, not our int3s.
  std::lock_guard lock(mutex_);
  for (const auto& [linear, breakpoint] : software_)
    if (linear >= address && linear < address + bytes.size()) bytes[linear - address] = breakpoint.original;
  return bytes;
}

bool GdbTarget::write_memory(std::uint32_t vcpu, std::uint64_t address, const std::vector<std::uint8_t>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::uint64_t at = address + done;
    const std::size_t chunk = std::min<std::uint64_t>(bytes.size() - done, kPageSize - at % kPageSize);
    const auto where = physical(vcpu, at);
    if (!where) return false;
    auto host = memory_.host_span(*where, chunk);
    if (host.empty()) return false;
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < chunk; ++i) {
      // A write over a planted int3 updates what it hides; the int3 stays.
      auto planted = software_.find(at + i);
      if (planted != software_.end())
        planted->second.original = bytes[done + i];
      else
        host[i] = bytes[done + i];
    }
    done += chunk;
  }
  return true;
}

GdbTarget::Result GdbTarget::insert_breakpoint(std::uint32_t vcpu, unsigned type, std::uint64_t address,
                                               unsigned length) {
  if (type == 0) {
    if (is_software_breakpoint(address)) return Result::Done;
    // Only this thread changes the breakpoints, and every vCPU is parked.
    const auto where = physical(vcpu, address);
    if (!where) return Result::Failed;
    std::lock_guard lock(mutex_);
    auto host = memory_.host_span(*where, 1);
    if (host.empty()) return Result::Failed;
    software_[address] = SoftwareBreakpoint{*where, host[0]};
    host[0] = kInt3;
    return Result::Done;
  }
  if (type == 3) return Result::Unsupported;  // x86 debug registers cannot watch reads alone
  if (type > 4) return Result::Unsupported;
  if (type != 1 && (!dr7_length(length) || address % length != 0)) return Result::Failed;
  for (const HardwareSlot& each : hardware_)
    if (each.used && each.type == type && each.address == address && each.length == length) return Result::Done;
  const auto mine = hardware_.begin() + hardware_slots_;
  auto free_slot = std::find_if(hardware_.begin(), mine, [](const HardwareSlot& each) { return !each.used; });
  if (free_slot == mine) {
    std::fprintf(stderr, "vmm: gdb: no debug register left for another hardware breakpoint or watchpoint: %u in use%s\n",
                 hardware_slots_,
                 hardware_slots_ < 4 ? " (the fourth completes the SYSCALLs this host leaves half done)" : "");
    return Result::Failed;
  }
  *free_slot = HardwareSlot{true, type, address, length};
  return Result::Done;
}

GdbTarget::Result GdbTarget::remove_breakpoint(unsigned type, std::uint64_t address, unsigned length) {
  if (type == 0) {
    std::lock_guard lock(mutex_);
    auto planted = software_.find(address);
    if (planted == software_.end()) return Result::Done;
    auto host = memory_.host_span(planted->second.physical, 1);
    if (!host.empty()) host[0] = planted->second.original;
    software_.erase(planted);
    return Result::Done;
  }
  if (type == 3 || type > 4) return Result::Unsupported;
  for (HardwareSlot& each : hardware_)
    if (each.used && each.type == type && each.address == address && (type == 1 || each.length == length))
      each = HardwareSlot{};
  return Result::Done;
}

}  // namespace vmm::debug
