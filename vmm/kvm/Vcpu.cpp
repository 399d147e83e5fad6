#include "vmm/kvm/Vcpu.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "base/KvmAbi.h"
#include "vmm/Errors.h"

namespace vmm {

namespace {

void check(int result, const char* what) {
  if (result < 0) throw HostError(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

Vcpu::Vcpu(int vm_fd, std::uint32_t id, std::size_t run_mmap_size) : id_(id), fd_(::ioctl(vm_fd, KVM_CREATE_VCPU, id)) {
  check(fd_.get(), "KVM_CREATE_VCPU");
  void* run = ::mmap(nullptr, run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (run == MAP_FAILED) throw HostError(std::string("mmap of kvm_run: ") + std::strerror(errno));
  run_ = Mapping(run, run_mmap_size);
}

int Vcpu::run() { return ::ioctl(fd_.get(), KVM_RUN, 0) < 0 ? errno : 0; }

kvm_regs Vcpu::regs() const {
  kvm_regs regs{};
  check(::ioctl(fd_.get(), KVM_GET_REGS, &regs), "KVM_GET_REGS");
  return regs;
}

void Vcpu::set_regs(const kvm_regs& regs) { check(::ioctl(fd_.get(), KVM_SET_REGS, &regs), "KVM_SET_REGS"); }

kvm_sregs Vcpu::sregs() const {
  kvm_sregs sregs{};
  check(::ioctl(fd_.get(), KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
  return sregs;
}

void Vcpu::set_sregs(const kvm_sregs& sregs) { check(::ioctl(fd_.get(), KVM_SET_SREGS, &sregs), "KVM_SET_SREGS"); }

void Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  std::vector<std::uint8_t> buffer(kvm_abi::kEntriesOffset + entries.size() * sizeof(kvm_cpuid_entry2));
  const kvm_abi::FlexArrayHeader header{static_cast<std::uint32_t>(entries.size()), 0};
  std::memcpy(buffer.data(), &header, sizeof header);
  std::memcpy(buffer.data() + kvm_abi::kEntriesOffset, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  check(::ioctl(fd_.get(), kvm_abi::kSetCpuid2, buffer.data()), "KVM_SET_CPUID2");
}

kvm_lapic_state Vcpu::lapic() const {
  kvm_lapic_state state{};
  check(::ioctl(fd_.get(), KVM_GET_LAPIC, &state), "KVM_GET_LAPIC");
  return state;
}

void Vcpu::set_guest_debug(const kvm_guest_debug& debug) {
  std::lock_guard lock(debug_mutex_);
  debugger_debug_ = debug;
  apply_guest_debug();
}

void Vcpu::request_guest_debug(const kvm_guest_debug& debug) {
  std::lock_guard lock(debug_mutex_);
  requested_debug_ = debug;
  debug_requested_.store(true, std::memory_order_release);
}

void Vcpu::apply_request() {
  std::lock_guard lock(debug_mutex_);
  if (!debug_requested_.exchange(false, std::memory_order_acq_rel)) return;
  debugger_debug_ = requested_debug_;
  apply_guest_debug();
}

bool Vcpu::debugger_steps() {
  std::lock_guard lock(debug_mutex_);
  return debugger_debug_.control & KVM_GUESTDBG_SINGLESTEP;
}

void Vcpu::set_fixup_debug(const FixupDebug& fixup) {
  std::lock_guard lock(debug_mutex_);
  fixup_debug_ = fixup;
  apply_guest_debug();
}

void Vcpu::apply_guest_debug() {
  const kvm_guest_debug merged = merge_guest_debug(debugger_debug_, fixup_debug_);
  check(::ioctl(fd_.get(), KVM_SET_GUEST_DEBUG, &merged), "KVM_SET_GUEST_DEBUG");
}

namespace {

struct OneMsr {
  kvm_abi::FlexArrayHeader header;
  kvm_msr_entry entry;
};

}  // namespace

std::uint64_t Vcpu::msr(std::uint32_t index) const {
  OneMsr request{};
  request.header.count = 1;
  request.entry.index = index;
  const int read = ::ioctl(fd_.get(), kvm_abi::kGetMsrs, &request);
  check(read, "KVM_GET_MSRS");
  if (read != 1) throw HostError("KVM_GET_MSRS: KVM does not know MSR " + std::to_string(index));
  return request.entry.data;
}

void Vcpu::set_msr(std::uint32_t index, std::uint64_t value) {
  OneMsr request{};
  request.header.count = 1;
  request.entry.index = index;
  request.entry.data = value;
  const int written = ::ioctl(fd_.get(), kvm_abi::kSetMsrs, &request);
  check(written, "KVM_SET_MSRS");
  if (written != 1) throw HostError("KVM_SET_MSRS: KVM refused MSR " + std::to_string(index));
}

kvm_fpu Vcpu::fpu() const {
  kvm_fpu fpu{};
  check(::ioctl(fd_.get(), KVM_GET_FPU, &fpu), "KVM_GET_FPU");
  return fpu;
}

void Vcpu::set_fpu(const kvm_fpu& fpu) { check(::ioctl(fd_.get(), KVM_SET_FPU, &fpu), "KVM_SET_FPU"); }

kvm_vcpu_events Vcpu::events() const {
  kvm_vcpu_events events{};
  check(::ioctl(fd_.get(), KVM_GET_VCPU_EVENTS, &events), "KVM_GET_VCPU_EVENTS");
  return events;
}

void Vcpu::set_events(const kvm_vcpu_events& events) {
  check(::ioctl(fd_.get(), KVM_SET_VCPU_EVENTS, &events), "KVM_SET_VCPU_EVENTS");
}

std::optional<std::uint32_t> Vcpu::tsc_khz() const {
  const int khz = ::ioctl(fd_.get(), KVM_GET_TSC_KHZ, 0);
  if (khz <= 0) return std::nullopt;
  return static_cast<std::uint32_t>(khz);
}

void Vcpu::inject_nmi() { check(::ioctl(fd_.get(), KVM_NMI), "KVM_NMI"); }

void Vcpu::set_lapic(const kvm_lapic_state& state) { check(::ioctl(fd_.get(), KVM_SET_LAPIC, &state), "KVM_SET_LAPIC"); }

UniqueFd Vcpu::open_stats() const {
  UniqueFd stats(::ioctl(fd_.get(), KVM_GET_STATS_FD, 0));
  check(stats.get(), "KVM_GET_STATS_FD");
  return stats;
}

std::string Vcpu::describe_registers() const {
  kvm_regs r{};
  kvm_sregs s{};
  if (::ioctl(fd_.get(), KVM_GET_REGS, &r) < 0 || ::ioctl(fd_.get(), KVM_GET_SREGS, &s) < 0)
    return "  (registers unavailable: " + std::string(std::strerror(errno)) + ")\n";
  char text[1024];
  std::snprintf(text, sizeof text,
                "  rip %016" PRIx64 "  rsp %016" PRIx64 "  rflags %016" PRIx64 "\n"
                "  rax %016" PRIx64 "  rbx %016" PRIx64 "  rcx %016" PRIx64 "  rdx %016" PRIx64 "\n"
                "  rsi %016" PRIx64 "  rdi %016" PRIx64 "  rbp %016" PRIx64 "\n"
                "  r8  %016" PRIx64 "  r9  %016" PRIx64 "  r10 %016" PRIx64 "  r11 %016" PRIx64 "\n"
                "  r12 %016" PRIx64 "  r13 %016" PRIx64 "  r14 %016" PRIx64 "  r15 %016" PRIx64 "\n"
                "  cr0 %016" PRIx64 "  cr2 %016" PRIx64 "  cr3 %016" PRIx64 "  cr4 %016" PRIx64 "\n"
                "  efer %016" PRIx64 "  cs %04x (dpl %u, l %u, db %u)  ss %04x  tr %04x\n"
                "  gdt base %016" PRIx64 " limit %04x  idt base %016" PRIx64 " limit %04x\n",
                static_cast<std::uint64_t>(r.rip), static_cast<std::uint64_t>(r.rsp),
                static_cast<std::uint64_t>(r.rflags), static_cast<std::uint64_t>(r.rax),
                static_cast<std::uint64_t>(r.rbx), static_cast<std::uint64_t>(r.rcx),
                static_cast<std::uint64_t>(r.rdx), static_cast<std::uint64_t>(r.rsi),
                static_cast<std::uint64_t>(r.rdi), static_cast<std::uint64_t>(r.rbp),
                static_cast<std::uint64_t>(r.r8), static_cast<std::uint64_t>(r.r9),
                static_cast<std::uint64_t>(r.r10), static_cast<std::uint64_t>(r.r11),
                static_cast<std::uint64_t>(r.r12), static_cast<std::uint64_t>(r.r13),
                static_cast<std::uint64_t>(r.r14), static_cast<std::uint64_t>(r.r15),
                static_cast<std::uint64_t>(s.cr0), static_cast<std::uint64_t>(s.cr2),
                static_cast<std::uint64_t>(s.cr3), static_cast<std::uint64_t>(s.cr4),
                static_cast<std::uint64_t>(s.efer), s.cs.selector, s.cs.dpl, s.cs.l, s.cs.db, s.ss.selector,
                s.tr.selector, static_cast<std::uint64_t>(s.gdt.base), s.gdt.limit,
                static_cast<std::uint64_t>(s.idt.base), s.idt.limit);
  return text;
}

}  // namespace vmm
