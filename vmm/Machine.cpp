#include "vmm/Machine.h"

#include "vmm/Hex.h"
#include "vmm/kvm/ControlRegisters.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "vmm/Errors.h"
#include "vmm/ExitStatus.h"
#include "vmm/FileUtil.h"
#include "vmm/Platform.h"
#include "vmm/control/ControlRequest.h"
#include "vmm/kvm/CpuTopology.h"
#include "vmm/kvm/ExitReasons.h"
#include "vmm/loader/LinuxLoader.h"
#include "vmm/loader/MultibootLoader.h"

namespace vmm {

namespace {

using namespace platform;

// LAPIC register offsets and LVT delivery modes (Intel SDM vol. 3, 10.5.1).
constexpr std::size_t kLapicLvtLint0 = 0x350;
constexpr std::size_t kLapicLvtLint1 = 0x360;
constexpr std::uint32_t kLvtDeliveryModeMask = 0x700;
constexpr std::uint32_t kLvtMasked = 1u << 16;
constexpr std::uint32_t kDeliveryExtInt = 0x700;
constexpr std::uint32_t kDeliveryNmi = 0x400;

constexpr std::uint64_t kMaxModuleBytes = 1ull << 30;

using namespace x86;

static_assert(VmConfig::kMaxVcpus <= MpTable::kMaxCpus, "every vCPU needs an APIC id in the MP table");

// A reason vmm does not handle still gets a key in the stats.
std::string exit_reason_key(std::size_t reason) {
  if (const char* name = exit_reason_name(reason)) return name;
  return "reason_" + std::to_string(reason);
}

nlohmann::json latency_json(const Injector::Latency& latency) {
  return {{"samples", latency.samples}, {"p50", latency.p50_ns}, {"p99", latency.p99_ns}, {"max", latency.max_ns},
          {"histogram_100ns", latency.histogram}};
}

std::uint32_t lapic_reg(const kvm_lapic_state& state, std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, &state.regs[offset], sizeof value);
  return value;
}

void set_lapic_reg(kvm_lapic_state& state, std::size_t offset, std::uint32_t value) {
  std::memcpy(&state.regs[offset], &value, sizeof value);
}

kvm_segment flat_segment(std::uint16_t selector, std::uint8_t type) {
  kvm_segment segment{};
  segment.base = 0;
  segment.limit = 0xffffffff;
  segment.selector = selector;
  segment.type = type;
  segment.present = 1;
  segment.dpl = 0;
  segment.db = 1;
  segment.s = 1;
  segment.g = 1;
  return segment;
}

}  // namespace

Machine::Machine(const VmConfig& config, const KernelImage& kernel)
    : config_(config),
      seccomp_(config.seccomp ? security::SeccompFilters::compile() : security::SeccompFilters::disabled()),
      memory_(config.memory_mib << 20),
      entry_(load_kernel(config, kernel, memory_)),
      vm_(kvm_),
      routing_(InterruptLines::routing_for(config.irq_lines, platform::device_gsis())),
      clock_(io_) {
  for (std::size_t slot = 0; slot < memory_.regions().size(); ++slot) {
    const auto& region = memory_.regions()[slot];
    vm_.set_memory_region(static_cast<std::uint32_t>(slot), region.guest_address, region.size, region.host);
  }
  vm_.create_irqchip();
  vm_.set_gsi_routing(routing_);
  if (!config_.trace.file.empty()) start_trace();
  attach_devices();
  // Linux trusts kvmclock when it sees KVM's signature, and then skips its PIT
  // calibration and its IOAPIC timer check: the paths vmm is here to exercise.
  if (entry_.protocol == EntryState::Protocol::Linux && !config_.cpuid.hide_hypervisor)
    config_.cpuid.hide_hypervisor = true;
  const auto supported_cpuid = kvm_.supported_cpuid();
  // The loader kept the BIOS area clear, and RAM is at least 2 MiB, so this is RAM.
  const MpTable table = mp_table(config_, routing_, supported_cpuid);
  memory_.write(table.guest_address(), table.bytes());
  if (config_.acpi) {
    const AcpiTables acpi = AcpiTables::build({.cpus = config_.vcpus,
                                               .ioapic_id = table.ioapic_id(),
                                               .ioapic_inputs = MpTable::ioapic_inputs(routing_, config_.irq_lines),
                                               .pm1a_event_port = kAcpiPmPort,
                                               .pm1a_control_port = kAcpiPmPort + AcpiPm::kEventBlockBytes,
                                               .sci_irq = kAcpiSciGsi,
                                               .s5_sleep_type = AcpiPm::kSleepTypeS5,
                                               .reset_port = I8042::kCommandPort,
                                               .reset_value = I8042::kCmdPulseResetLine,
                                               .century_register = CmosRtc::kCentury});
    memory_.write(acpi.guest_address(), acpi.bytes());
  }
  create_vcpus(entry_, supported_cpuid);
  tsc_khz_ = vcpus_.front()->tsc_khz();  // before seccomp: the event loop may not ask KVM
  if (trace_) trace_->set_tsc_khz(tsc_khz_.value_or(0));
  if (!config_.gdb.empty()) attach_debugger();
}

void Machine::start_trace() {
  trace::TraceSession::Setup setup;
  setup.file = config_.trace.file;
  setup.buffer_bytes = static_cast<std::size_t>(config_.trace.buffer_mib * (1 << 20));
  setup.layout.vcpus = config_.vcpus;
  for (const auto& line : config_.irq_lines) setup.layout.lines.push_back({line.name, line.gsi});
  setup.layout.io_bus = &io_bus_;
  setup.layout.mmio_bus = &mmio_bus_;
  setup.layout.control_requests = control::request_names();
  trace_ = std::make_unique<trace::TraceSession>(std::move(setup), memory_, io_);
}

IrqLine& Machine::traced(IrqLine& line, trace::TracedIrqLine::Style style, std::uint32_t track,
                         std::unique_ptr<trace::TracedIrqLine>& keep) {
  if (!trace_) return line;
  keep = std::make_unique<trace::TracedIrqLine>(line, style, track);
  return *keep;
}

void Machine::attach_debugger() {
  const int capabilities = kvm_.check_extension(KVM_CAP_SET_GUEST_DEBUG2);
  if (kvm_.check_extension(KVM_CAP_SET_GUEST_DEBUG) <= 0)
    throw HostError("--gdb needs KVM_CAP_SET_GUEST_DEBUG, which this kernel's KVM lacks");
  std::vector<Vcpu*> vcpus;
  for (auto& vcpu : vcpus_) vcpus.push_back(vcpu.get());
  // Runners exist from run() on; a kick before then has nothing to interrupt.
  gdb_target_ = std::make_unique<debug::GdbTarget>(
      std::move(vcpus), memory_,
      [this](std::uint32_t vcpu) {
        if (vcpu < runners_.size()) runners_[vcpu]->kick();
      },
      [this] { return stopping_.load(); }, config_.gdb_wait, capabilities > 0 ? capabilities : 0);
}

MpTable Machine::mp_table(const VmConfig& config, const GsiRoutingTable& routing,
                          const std::vector<kvm_cpuid_entry2>& supported_cpuid) {
  // A BIOS copies the boot processor's signature and features into every
  // processor entry; vCPU 0's CPUID is what the guest's BSP reads.
  std::uint32_t signature = 0, features = 0;
  for (const auto& leaf : config.cpuid.apply(CpuTopology(config.vcpus).cpuid_for(supported_cpuid, 0)))
    if (leaf.function == 1 && leaf.index == 0) {
      signature = leaf.eax;
      features = leaf.edx;
    }
  return MpTable::build({config.vcpus, signature, features, routing, config.irq_lines});
}

EntryState Machine::load_kernel(const VmConfig& config, const KernelImage& kernel, GuestMemory& memory) {
  if (MultibootLoader::recognizes(kernel.bytes)) return load_multiboot(config, kernel, memory);
  if (const auto format = LinuxLoader::recognize(kernel.bytes)) {
    if (!config.modules.empty())
      throw InputError("kernel " + kernel.name + " is a Linux " + LinuxLoader::name(*format) +
                       ", which takes an initrd, not modules; use \"initrd\" (or --initrd)");
    LinuxBootOptions boot;
    boot.cmdline = config.cmdline;
    if (config.acpi) boot.acpi_rsdp = AcpiTables::kRsdpAddress;
    if (config.initrd) boot.initrd = read_input_file(*config.initrd, "initrd", kMaxModuleBytes);
    return LinuxLoader::load(kernel.bytes, memory, boot);
  }
  throw InputError("kernel " + kernel.name +
                   ": not a kernel vmm can boot: no Multiboot v1 header (magic 0x1BADB002 in the first 8 KiB), no Linux "
                   "setup header (\"HdrS\" at 0x202) and not an ELF64 x86-64 vmlinux");
}

EntryState Machine::load_multiboot(const VmConfig& config, const KernelImage& kernel, GuestMemory& memory) {
  MultibootOptions boot;
  boot.cmdline = kernel.name + (config.cmdline.empty() ? "" : " " + config.cmdline);
  if (config.initrd)
    boot.modules.push_back({read_input_file(*config.initrd, "initrd", kMaxModuleBytes), config.initrd->filename().string()});
  for (const auto& module : config.modules)
    boot.modules.push_back({read_input_file(module.path, "module", kMaxModuleBytes), module.cmdline});
  MultibootLayout layout;
  EntryState entry = MultibootLoader::load(kernel.bytes, memory, boot, &layout);
  // The MP and ACPI tables go at the start of the BIOS area; a kernel that
  // loads there, or whose modules and boot information land there, would lose
  // bytes to them (or corrupt them). The Linux loader keeps everything out.
  static_assert(MpTable::kReservedEnd <= AcpiTables::kBase, "the ACPI tables follow the MP table");
  const std::uint64_t tables_end = config.acpi ? AcpiTables::kReservedEnd : MpTable::kReservedEnd;
  auto keep_clear = [&](std::uint64_t start, std::uint64_t end, const std::string& what) {
    if (start < tables_end && MpTable::kFloatingPointerAddress < end)
      throw InputError("kernel " + kernel.name + ": " + what + " [" + hex(start) + ", " + hex(end) + ") overlaps [" +
                       hex(MpTable::kFloatingPointerAddress) + ", " + hex(tables_end) + "), where vmm puts the MP " +
                       (config.acpi ? "and ACPI tables" : "table") + "; link the kernel at 1 MiB or above");
  };
  keep_clear(layout.kernel_start, layout.kernel_end, "its image");
  for (const auto& [start, end] : layout.modules) keep_clear(start, end, "a module");
  keep_clear(layout.info_address, layout.info_end, "the Multiboot information");
  return entry;
}

Machine::~Machine() {
  for (auto& runner : runners_) runner->kick();
  runners_.clear();  // joins
}

void Machine::attach_devices() {
  serial_ = SerialBackend::create(config_.serial, io_, seccomp_);

  com1_irq_ = std::make_unique<IrqfdLine>(vm_.fd(), kCom1Gsi);
  ByteSink* serial_out = &serial_->output();
  if (trace_) {
    traced_serial_out_ = std::make_unique<trace::TracingByteSink>(serial_->output());
    serial_out = traced_serial_out_.get();
    serial_->set_input_observer([](std::size_t bytes) {
      trace::Tracer::record({.start = trace::Tracer::now_ns(), .a = bytes, .kind = trace::RecordKind::SerialIn});
    });
  }
  com1_ = std::make_unique<Uart16550>(
      traced(*com1_irq_, trace::TracedIrqLine::Style::Levels, trace::tracks::kCom1Line, traced_com1_irq_), *serial_out);
  debug_exit_ = std::make_unique<DebugExit>([this](std::uint8_t value) {
    if (trace_) trace::Tracer::record({.start = trace::Tracer::now_ns(), .a = value, .kind = trace::RecordKind::DebugExit});
    request_stop(value, "");
  });
  std::vector<Injector::Line> injectable;
  for (const auto& line : config_.irq_lines) {
    std::unique_ptr<IrqLine> irq;
    if (line.trigger == Trigger::Level) {
      auto level = std::make_unique<ResampledIrqfdLine>(vm_.fd(), line.gsi, io_);
      if (trace_)
        level->set_resample_callback([track = static_cast<std::uint32_t>(injectable.size())] {
          trace::Tracer::record({.start = trace::Tracer::now_ns(), .kind = trace::RecordKind::Resample, .track = track});
        });
      irq = std::move(level);
    } else
      irq = std::make_unique<IrqfdLine>(vm_.fd(), line.gsi);
    injectable.push_back({line.name, line.gsi, line.trigger, irq.get()});
    scripted_lines_.emplace_back(line.name, std::move(irq));
  }
  injector_ = std::make_unique<Injector>(clock_, std::move(injectable), config_.vcpus);
  injector_->set_observer(trace_.get());
  // The port is written on the thread of the vCPU whose handler acknowledges.
  ack_port_ = std::make_unique<InterruptAckPort>([this](std::uint32_t gsi) {
    switch (injector_->acknowledge(gsi, VcpuRunner::current_vcpu())) {
      case Injector::Acknowledgement::Delivered: return InterruptAckPort::Answer::Delivered;
      case Injector::Acknowledgement::Spurious: return InterruptAckPort::Answer::Spurious;
      case Injector::Acknowledgement::NotALine: break;
    }
    return InterruptAckPort::Answer::NoDevice;
  });
  wake_mark_port_ = std::make_unique<WakeMarkPort>([this](std::uint32_t gsi) { injector_->wake_mark(gsi); });
  i8042_irq_ = std::make_unique<IrqfdLine>(vm_.fd(), kI8042KeyboardGsi);
  i8042_ = std::make_unique<I8042>(
      [this] {
        if (trace_) trace::Tracer::record({.start = trace::Tracer::now_ns(), .kind = trace::RecordKind::I8042Reset});
        request_stop(exit_status::kSuccess, "guest reset the machine through the i8042");
      },
      i8042_irq_.get());

  if (config_.pit.backend == PitConfig::Backend::User) {
    // IRQ0 on a resampling irqfd, so the PIT hears the guest's EOI and can
    // reinject ticks a late host wakeup would otherwise lose, as KVM's PIT does.
    pit_irq_ = std::make_unique<ResampledIrqfdLine>(vm_.fd(), kPitGsi, io_);
    Clock* pit_clock = &clock_;
    if (trace_) {
      traced_pit_clock_ = std::make_unique<trace::TracingClock>(clock_);
      pit_clock = traced_pit_clock_.get();
    }
    pit_ = std::make_unique<Pit8254>(
        *pit_clock, traced(*pit_irq_, trace::TracedIrqLine::Style::Edges, trace::tracks::kPitLine, traced_pit_irq_),
        Pit8254::Irq0Delivery::Reinject);
    pit_irq_->set_resample_callback([pit = pit_.get()] { pit->irq0_acknowledged(); });
    system_control_ = std::make_unique<SystemControlPort>(*pit_, clock_);
    io_bus_.add(kPitPort, Pit8254::kPorts, *pit_, "8254 PIT");
    io_bus_.add(kSystemControlPort, 1, *system_control_, "system control port B");
  } else {
    if (kvm_.check_extension(KVM_CAP_PIT2) <= 0)
      throw HostError("pit.backend \"kvm\" needs KVM_CAP_PIT2, which this kernel's KVM lacks");
    vm_.create_in_kernel_pit();
  }
  io_bus_.add(kCom1Port, Uart16550::kPorts, *com1_, "COM1 16550A");
  io_bus_.add(kDebugExitPort, DebugExit::kPorts, *debug_exit_, "debug-exit");
  io_bus_.add(kInterruptAckPort, InterruptAckPort::kPorts, *ack_port_, "interrupt acknowledge");
  io_bus_.add(kWakeMarkPort, WakeMarkPort::kPorts, *wake_mark_port_, "wake mark");
  io_bus_.add(kPostCodePort, 1, post_code_, "POST code");
  io_bus_.add(kPciConfigPorts, kPciConfigPortCount, pci_config_, "PCI configuration (no PCI)");
  rtc_ = std::make_unique<CmosRtc>([] { return static_cast<std::int64_t>(std::time(nullptr)); });
  io_bus_.add(CmosRtc::kBasePort, CmosRtc::kPorts, *rtc_, "CMOS RTC");
  // Present without --trace too, answering "off", so a guest's probe is not an unclaimed access.
  trace_port_ = std::make_unique<TracePort>(
      trace_ != nullptr, [this](std::uint32_t address) { trace_->guest_registered(address); },
      [this] { trace_->guest_sync(); });
  io_bus_.add(TracePort::kBase, TracePort::kPorts, *trace_port_, "trace port");
  mmio_bus_.add(kScratchMmio, ScratchRegister::kBytes, scratch_mmio_, "scratch register");
  io_bus_.add(I8042::kDataPort, 1, i8042_->data_port(), "i8042 data");
  io_bus_.add(I8042::kCommandPort, 1, i8042_->command_port(), "i8042 command");
  if (config_.acpi) {
    acpi_pm_ = std::make_unique<AcpiPm>([this] {
      if (trace_) trace::Tracer::record({.start = trace::Tracer::now_ns(), .kind = trace::RecordKind::AcpiPowerOff});
      request_stop(exit_status::kSuccess, "guest powered the machine off (ACPI S5)");
    });
    io_bus_.add(kAcpiPmPort, AcpiPm::kPorts, *acpi_pm_, "ACPI PM1a");
  }
}

void Machine::create_vcpus(const EntryState& entry, const std::vector<kvm_cpuid_entry2>& supported_cpuid) {
  if (const unsigned limit = kvm_.max_vcpus(); config_.vcpus > limit)
    throw HostError("this host's KVM runs at most " + std::to_string(limit) + " vCPUs in a VM (KVM_CAP_MAX_VCPUS), " +
                    std::to_string(config_.vcpus) + " were asked for; lower --vcpus or vcpus in the config");
  const bool have_stats = kvm_.check_extension(KVM_CAP_BINARY_STATS_FD) > 0;
  // One package of N single-thread cores, the CPUs of the MP table.
  const CpuTopology topology(config_.vcpus);
  for (std::uint32_t id = 0; id < config_.vcpus; ++id) {
    auto vcpu = std::make_unique<Vcpu>(vm_.fd(), id, kvm_.vcpu_mmap_size());
    vcpu->set_cpuid(config_.cpuid.apply(topology.cpuid_for(supported_cpuid, id)));
    vcpu_stats_.push_back(have_stats ? VcpuStats(vcpu->open_stats()) : VcpuStats());

    // What a PC BIOS leaves behind: the BSP's LINT0 takes the PIC as ExtINT and
    // every LINT1 is NMI. Without it KVM's PIC never reaches the CPU.
    auto lapic = vcpu->lapic();
    auto lint = [&](std::size_t offset, std::uint32_t mode, bool masked) {
      std::uint32_t value = (lapic_reg(lapic, offset) & ~(kLvtDeliveryModeMask | kLvtMasked)) | mode;
      if (masked) value |= kLvtMasked;
      set_lapic_reg(lapic, offset, value);
    };
    lint(kLapicLvtLint0, kDeliveryExtInt, id != 0);
    lint(kLapicLvtLint1, kDeliveryNmi, false);
    vcpu->set_lapic(lapic);

    if (id == 0) {  // application processors wait for INIT-SIPI in the kernel
      kvm_sregs sregs = vcpu->sregs();
      sregs.cs = flat_segment(0x10, 0xb);  // execute/read, accessed
      sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(0x18, 0x3);  // read/write, accessed
      switch (entry.mode) {
        case EntryState::Mode::Protected32Flat:
          sregs.cr0 = (sregs.cr0 | kCr0Pe) & ~kCr0Pg;
          sregs.cr4 = 0;
          sregs.efer = 0;
          break;
        case EntryState::Mode::Long64:
          sregs.cs.l = 1;  // 64-bit code: L set, D clear
          sregs.cs.db = 0;
          sregs.cr0 = (sregs.cr0 | kCr0Pe | kCr0Pg) & ~(kCr0Cd | kCr0Nw);
          sregs.cr3 = entry.cr3;
          sregs.cr4 = kCr4Pae;
          sregs.efer = kEferLme | kEferLma;
          sregs.gdt.base = entry.gdt_base;
          sregs.gdt.limit = entry.gdt_limit;
          break;
      }
      vcpu->set_sregs(sregs);
      kvm_regs regs{};
      regs.rflags = 0x2;  // reserved bit 1; interrupts off
      regs.rip = entry.rip;
      regs.rax = entry.rax;
      regs.rbx = entry.rbx;
      regs.rsi = entry.rsi;
      vcpu->set_regs(regs);
    }
    vcpus_.push_back(std::move(vcpu));
  }
}

void Machine::request_stop(int status, std::string report) {
  {
    std::lock_guard lock(stop_mutex_);
    if (stopping_.load()) return;
    exit_status_ = status;
    stop_report_ = std::move(report);
    stopping_.store(true);
  }
  {
    std::lock_guard lock(pause_mutex_);  // wake vCPUs waiting in a pause
  }
  pause_changed_.notify_all();
  if (gdb_target_) gdb_target_->wake_parked();
  for (auto& runner : runners_) runner->kick();
  io_.stop();
}

void Machine::pause() {
  if (paused_.exchange(true)) return;
  for (auto& runner : runners_) runner->kick();
}

void Machine::resume() {
  {
    std::lock_guard lock(pause_mutex_);
    paused_.store(false);
  }
  pause_changed_.notify_all();
}

void Machine::nmi() {
  if (runners_.empty()) throw std::invalid_argument("the vCPUs have not started yet");
  runners_.front()->request_nmi();
}

void Machine::wait_while_paused() {
  std::unique_lock lock(pause_mutex_);
  pause_changed_.wait(lock, [this] { return !paused_.load() || stopping_.load(); });
}

void Machine::start_timeline() {
  const std::uint64_t start = clock_.now_ns();
  for (const auto& event : config_.inject) {
    const std::uint64_t at = start + static_cast<std::uint64_t>(event.at.count());
    if (!event.line.empty()) {
      injector_->schedule(event.line, event.count, static_cast<std::uint64_t>(event.interval.count()), at,
                          event.wait_for_ack ? Injector::Pacing::AfterAcknowledgement : Injector::Pacing::Fixed);
      continue;
    }
    auto timer = clock_.make_timer([this, text = event.serial] { serial_->send_input(text); });
    timer->arm(at);
    timeline_timers_.push_back(std::move(timer));
  }
}

int Machine::run() {
  VcpuRunner::install_kick_handler();
  ::signal(SIGPIPE, SIG_IGN);  // a closed stdout is noticed by write(), not by dying

  // SIGHUP too: a closed terminal or a supervisor's reload must not kill the
  // VM before its output is flushed.
  boost::asio::signal_set signals(io_, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([this](const boost::system::error_code& error, int signal) {
    if (!error) request_stop(exit_status::kSignalBase + signal, std::string("stopped by ") + ::strsignal(signal));
  });
  boost::asio::steady_timer timeout(io_);
  if (config_.timeout.count() > 0) {
    timeout.expires_after(config_.timeout);
    timeout.async_wait([this](const boost::system::error_code& error) {
      if (!error)
        request_stop(exit_status::kTimeout,
                     "timeout: the guest ran for " + std::to_string(config_.timeout.count()) + " ms; stopped it");
    });
  }

  // The event loop wakes PIT deadlines; keep the kernel from batching them.
  ::prctl(PR_SET_TIMERSLACK, 1UL);
  for (auto& vcpu : vcpus_) {
    runners_.push_back(std::make_unique<VcpuRunner>(*vcpu, io_bus_, mmio_bus_, memory_, *this, seccomp_));
    runners_.back()->set_debug_hooks(gdb_target_.get());
    if (trace_) runners_.back()->set_trace_ring(&trace_->tracer().vcpu_ring(vcpu->id()));
  }
  if (gdb_target_)
    gdb_server_ = std::make_unique<debug::GdbServer>(io_, *debug::parse_gdb_endpoint(config_.gdb), *gdb_target_, [this] {
      boost::asio::post(io_, [this] { request_stop(exit_status::kSuccess, "killed from the debugger"); });
    });
  serial_->start(*com1_, [this] { request_stop(exit_status::kSuccess, "quit from the console (Ctrl-A x)"); });
  start_timeline();
  if (!config_.control.empty())
    control_ = std::make_unique<ControlServer>(io_, config_.control,
                                               [this](const nlohmann::json& request) { return handle_control(request); });
  for (auto& runner : runners_) runner->start();
  // Set up, and every other thread started: from here on the event loop's
  // allow-list holds for this thread until vmm exits.
  seccomp_.confine_current_thread(security::ThreadKind::EventLoop);
  if (trace_) trace_->start();

  auto work = boost::asio::make_work_guard(io_);
  io_.run();

  // Stopping now: a second Ctrl-C, or any stop signal, changes nothing. Held
  // pending (every other thread blocks them, or is joined below) until the
  // process exits, they can no longer cut the flush short or kill vmm once
  // the signal set is gone.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, signal);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // io_ stops only through request_stop(), which has kicked every vCPU already.
  for (auto& runner : runners_) runner->join();
  signals.cancel();
  serial_->finish();
  if (trace_) {
    if (traced_serial_out_) traced_serial_out_->flush();
    trace_->finish();
  }
  if (!stop_report_.empty()) std::fprintf(stderr, "vmm: %s\n", stop_report_.c_str());
  return exit_status_;
}

nlohmann::json Machine::stats() const {
  nlohmann::json stats;
  stats["paused"] = paused_.load();
  nlohmann::json lines = nlohmann::json::array();
  const auto line_stats = injector_->stats();
  for (const auto& line : line_stats)
    lines.push_back({{"name", line.name}, {"gsi", line.gsi}, {"injected", line.injected},
                     {"delivered", line.delivered}, {"coalesced", line.coalesced}, {"spurious", line.spurious},
                     {"pending", line.pending}, {"delivered_by_vcpu", line.delivered_by_vcpu},
                     {"latency_ns", latency_json(line.latency)}, {"wake_marks", line.wake_marks},
                     {"wake_latency_ns", latency_json(line.wake_latency)}});
  stats["lines"] = lines;
  stats["stray_acknowledgements"] = injector_->stray_acknowledgements();
  stats["stray_wake_marks"] = injector_->stray_wake_marks();
  stats["memory"] = {{"guest_bytes", memory_.size()}, {"guest_resident_bytes", memory_.resident_bytes()}};
  const auto& output = serial_->output_pump();
  stats["serial"] = {{"bytes_out", output.bytes_accepted()},
                     {"bytes_delivered", output.bytes_delivered()},
                     {"bytes_discarded", output.bytes_discarded()}};

  nlohmann::json exits = nlohmann::json::object();
  nlohmann::json ports = nlohmann::json::object();
  nlohmann::json vcpus = nlohmann::json::array();
  for (std::size_t index = 0; index < vcpus_.size(); ++index) {
    nlohmann::json vcpu = {{"id", vcpus_[index]->id()}};
    nlohmann::json vcpu_exits = nlohmann::json::object();
    if (index < runners_.size()) {  // runners exist from run() on
      for (std::size_t reason = 0; reason < VcpuRunner::kExitReasons; ++reason) {
        const std::uint64_t count = runners_[index]->exits_by_reason(reason);
        if (count == 0) continue;
        const std::string name = exit_reason_key(reason);
        vcpu_exits[name] = count;
        exits[name] = exits.value(name, std::uint64_t{0}) + count;
      }
    }
    vcpu["exits"] = vcpu_exits;
    // Absent, never zero, where KVM has no statistics fd (before Linux 5.14).
    if (const auto ns = vcpu_stats_[index].halt_wait_ns()) vcpu["halt_wait_ns"] = *ns;
    if (const auto count = vcpu_stats_[index].halt_exits()) vcpu["halt_exits"] = *count;
    // Scripted lines only: KVM delivers the PIT's and COM1's interrupts without
    // telling us where.
    nlohmann::json interrupts = nlohmann::json::object();
    for (const auto& line : line_stats)
      interrupts[std::to_string(line.gsi)] = index < line.delivered_by_vcpu.size() ? line.delivered_by_vcpu[index] : 0;
    vcpu["interrupts"] = interrupts;
    vcpus.push_back(vcpu);
  }
  // Port by port across the vCPUs, so no 64 Ki-entry table is built just to print a few.
  for (std::size_t port = 0; port < VcpuRunner::kPorts; ++port) {
    std::uint64_t accesses = 0;
    for (const auto& runner : runners_) accesses += runner->port_accesses(port);
    if (accesses == 0) continue;
    char name[24];
    std::snprintf(name, sizeof name, "0x%zx", port);
    ports[name] = accesses;
  }
  stats["exits"] = exits;
  // What the guest's TSC runs at (KVM_GET_TSC_KHZ): the reference for a
  // guest's own calibration. Absent where KVM cannot say.
  if (tsc_khz_) stats["tsc_khz"] = *tsc_khz_;
  nlohmann::json fixups = nlohmann::json::object();
  for (unsigned kind = 0; kind < EmulationFixup::kKinds; ++kind) {
    std::uint64_t count = 0;
    for (const auto& runner : runners_) count += runner->emulation_fixups(static_cast<EmulationFixup::Kind>(kind));
    fixups[std::string(EmulationFixup::name(static_cast<EmulationFixup::Kind>(kind)))] = count;
  }
  stats["emulation_fixups"] = fixups;
  std::uint64_t fixup_ns = 0;
  for (const auto& runner : runners_) fixup_ns += runner->emulation_fixup_ns();
  stats["emulation_fixup_ns"] = fixup_ns;
  nlohmann::json by_vcpu = nlohmann::json::array();
  for (const auto& runner : runners_) by_vcpu.push_back(runner->exits());
  stats["exits_by_vcpu"] = by_vcpu;
  stats["vcpus"] = vcpus;
  stats["port_io"] = ports;
  stats["unclaimed"] = {{"port_io", io_bus_.unclaimed_accesses()}, {"mmio", mmio_bus_.unclaimed_accesses()}};

  nlohmann::json interrupts = nlohmann::json::object();
  if (pit_irq_) interrupts[std::to_string(pit_irq_->gsi())] = pit_irq_->assertions();
  interrupts[std::to_string(com1_irq_->gsi())] = com1_irq_->edges();
  for (const auto& line : line_stats) interrupts[std::to_string(line.gsi)] = line.injected;
  stats["interrupts_by_gsi"] = interrupts;
  if (gdb_server_) stats["gdb"] = gdb_server_->stats();
  if (trace_) stats["trace"] = trace_->stats();
  if (pit_) {
    const auto pit = pit_->stats();
    stats["pit"] = {{"irq_edges", pit.irq_edges}, {"late_edges", pit.missed_edges},
                    {"dropped_reinjects", pit.dropped_reinjects}, {"lost_eois", pit.lost_eois}};
  }
  return stats;
}

nlohmann::json Machine::handle_control(const nlohmann::json& json) {
  // One lambda per request kind, so a new kind that Machine does not carry out
  // fails to compile.
  struct Executor {
    Machine& machine;
    nlohmann::json operator()(const control::Inject& inject) const {
      machine.injector_->schedule(inject.line, inject.count, inject.interval_us * 1000, machine.clock_.now_ns(),
                                  inject.wait_for_ack ? Injector::Pacing::AfterAcknowledgement : Injector::Pacing::Fixed);
      return {{"scheduled", inject.count}};
    }
    nlohmann::json operator()(const control::SerialInput& input) const {
      machine.serial_->send_input(input.text);
      return nlohmann::json::object();
    }
    nlohmann::json operator()(const control::Stats&) const { return {{"stats", machine.stats()}}; }
    nlohmann::json operator()(const control::Pause&) const {
      machine.pause();
      return nlohmann::json::object();
    }
    nlohmann::json operator()(const control::Resume&) const {
      machine.resume();
      return nlohmann::json::object();
    }
    nlohmann::json operator()(const control::Nmi&) const {
      machine.nmi();
      return nlohmann::json::object();
    }
    nlohmann::json operator()(const control::Stop&) const {
      // Posted, so this response goes out before the loop stops.
      boost::asio::post(machine.io_,
                        [m = &machine] { m->request_stop(exit_status::kSuccess, "stopped through the control socket"); });
      return nlohmann::json::object();
    }
  };
  const std::uint64_t start = trace_ ? trace::Tracer::now_ns() : 0;
  const auto request = control::parse_request(json);
  nlohmann::json response = std::visit(Executor{*this}, request);
  if (trace_) trace_->control_request(request.index(), start, trace::Tracer::now_ns());
  return response;
}

}  // namespace vmm
