#include "vmm/Machine.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>

#include "vmm/Errors.h"
#include "vmm/ExitStatus.h"
#include "vmm/Platform.h"
#include "vmm/boot/FirmwareTables.h"
#include "vmm/control/ControlDispatch.h"
#include "vmm/kvm/VcpuSetup.h"
#include "vmm/stats/MachineStats.h"

namespace vmm {

using namespace platform;

Machine::Machine(const VmConfig& config, const KernelImage& kernel)
    : config_(config),
      seccomp_(config.seccomp ? security::SeccompFilters::enabled_filters() : security::SeccompFilters::disabled()),
      memory_(config.memory_mib << 20),
      entry_(load_kernel(config, kernel, memory_)),
      vm_(kvm_),
      routing_(InterruptLines::routing_for(config.irq_lines, platform::device_gsis())),
      clock_(io_) {
  vm_.map(memory_);
  vm_.create_irqchip();
  vm_.set_gsi_routing(routing_);
  if (!config_.trace.file.empty()) start_trace();
  attach_devices();
  // Linux trusts kvmclock when it sees KVM's signature, and then skips its PIT
  // calibration and its IOAPIC timer check: the paths vmm is here to exercise.
  if (entry_.protocol == EntryState::Protocol::Linux && !config_.cpuid.hide_hypervisor)
    config_.cpuid.hide_hypervisor = true;
  const auto supported_cpuid = kvm_.supported_cpuid();
  write_firmware_tables(memory_, config_, routing_, supported_cpuid);
  auto created = create_vcpus(kvm_, vm_, config_.vcpus, config_.cpuid, supported_cpuid, entry_);
  vcpus_ = std::move(created.vcpus);
  vcpu_stats_ = std::move(created.stats);
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
      [this] { return run_state_.stopping(); }, config_.gdb_wait, capabilities > 0 ? capabilities : 0,
      complete_syscalls_ ? kFixupDebugSlot : 4);
}

Machine::~Machine() {
  for (auto& runner : runners_) runner->kick();
  runners_.clear();  // joins
}

void Machine::attach_devices() {
  serial_ = SerialBackend::create(config_.serial, io_, seccomp_);

  com1_irq_ = std::make_unique<IrqfdLine>(vm_.fd(), kCom1Gsi);
  if (trace_)
    serial_->set_input_observer([this](std::size_t bytes) { trace_event(trace::RecordKind::SerialIn, bytes); });
  ByteSink* console = &traced<ByteSink>(serial_->output());
  if (!config_.scenario.empty()) {
    scenario_ = std::make_unique<Scenario>(io_, config_.scenario, *this, *console, [this](int status, std::string report) {
      request_stop(status, std::move(report));
    });
    console = scenario_.get();
  }
  com1_ = std::make_unique<Uart16550>(
      traced<IrqLine>(*com1_irq_, trace::TracedIrqLine::Style::Levels, trace::tracks::kCom1Line), *console);
  debug_exit_ = std::make_unique<DebugExit>([this](std::uint8_t value) {
    trace_event(trace::RecordKind::DebugExit, value);
    request_stop(value, "");
  });
  std::function<void(std::uint32_t)> on_resample;
  if (trace_)
    on_resample = [](std::uint32_t track) {
      trace::Tracer::record({.start = trace::Tracer::now_ns(), .kind = trace::RecordKind::Resample, .track = track});
    };
  scripted_lines_ =
      std::make_unique<ScriptedLines>(vm_.fd(), config_.irq_lines, io_, clock_, config_.vcpus, on_resample);
  scripted_lines_->injector().set_observer(trace_.get());
  // The port is written on the thread of the vCPU whose handler acknowledges.
  ack_port_ = std::make_unique<InterruptAckPort>([this](std::uint32_t gsi) {
    switch (scripted_lines_->injector().acknowledge(gsi, VcpuRunner::current_vcpu())) {
      case Injector::Acknowledgement::Delivered: return InterruptAckPort::Answer::Delivered;
      case Injector::Acknowledgement::Spurious: return InterruptAckPort::Answer::Spurious;
      case Injector::Acknowledgement::NotALine: break;
    }
    return InterruptAckPort::Answer::NoDevice;
  });
  wake_mark_port_ =
      std::make_unique<WakeMarkPort>([this](std::uint32_t gsi) { scripted_lines_->injector().wake_mark(gsi); });
  i8042_irq_ = std::make_unique<IrqfdLine>(vm_.fd(), kI8042KeyboardGsi);
  i8042_ = std::make_unique<I8042>(
      [this] {
        trace_event(trace::RecordKind::I8042Reset);
        request_stop(exit_status::kSuccess, "guest reset the machine through the i8042");
      },
      i8042_irq_.get());

  if (config_.pit.backend == PitConfig::Backend::User) {
    // IRQ0 on a resampling irqfd, so the PIT hears the guest's EOI and can
    // reinject ticks a late host wakeup would otherwise lose, as KVM's PIT does.
    pit_irq_ = std::make_unique<ResampledIrqfdLine>(vm_.fd(), kPitGsi, io_);
    pit_ = std::make_unique<Pit8254>(
        traced<Clock>(clock_), traced<IrqLine>(*pit_irq_, trace::TracedIrqLine::Style::Edges, trace::tracks::kPitLine),
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
      trace_event(trace::RecordKind::AcpiPowerOff);
      request_stop(exit_status::kSuccess, "guest powered the machine off (ACPI S5)");
    });
    io_bus_.add(kAcpiPmPort, AcpiPm::kPorts, *acpi_pm_, "ACPI PM1a");
  }
}

void Machine::request_stop(int status, std::string report, int signal) {
  if (!run_state_.stop(status, std::move(report), signal)) return;
  if (gdb_target_) gdb_target_->wake_parked();
  for (auto& runner : runners_) runner->kick();
  io_.stop();
}

void Machine::pause() {
  if (!run_state_.pause()) return;
  for (auto& runner : runners_) runner->kick();
}

void Machine::nmi() {
  if (runners_.empty()) throw std::invalid_argument("the vCPUs have not started yet");
  runners_.front()->request_nmi();
}

int Machine::run() {
  VcpuRunner::install_kick_handler();
  ::signal(SIGPIPE, SIG_IGN);  // a closed stdout is noticed by write(), not by dying

  // SIGHUP too: a closed terminal or a supervisor's reload must not kill the
  // VM before its output is flushed.
  boost::asio::signal_set signals(io_, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([this](const boost::system::error_code& error, int signal) {
    if (!error)
      request_stop(exit_status::kSignalBase + signal, std::string("stopped by ") + ::strsignal(signal), signal);
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
  const int sync = kvm_.check_extension(KVM_CAP_SYNC_REGS);
  const bool sync_sregs = sync > 0 && (sync & KVM_SYNC_X86_SREGS);
  for (auto& vcpu : vcpus_) {
    runners_.push_back(std::make_unique<VcpuRunner>(*vcpu, io_bus_, mmio_bus_, memory_, *this, seccomp_));
    runners_.back()->set_debug_hooks(gdb_target_.get());
    if (complete_syscalls_) runners_.back()->complete_syscalls(sync_sregs);
    if (trace_) runners_.back()->set_trace_ring(&trace_->tracer().vcpu_ring(vcpu->id()));
  }
  if (!config_.profile.file.empty()) {
    sampler_ = std::make_unique<profile::Sampler>(io_, config_.profile.hz, runners_.size());
    const bool sync_regs = sync > 0 && (sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
                                           (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
    for (std::size_t id = 0; id < runners_.size(); ++id) runners_[id]->set_profile(&sampler_->vcpu(id), sync_regs);
  }
  if (gdb_target_)
    gdb_server_ =
        std::make_unique<debug::GdbServer>(io_, *debug::parse_gdb_endpoint(config_.gdb), *gdb_target_, [this] {
          boost::asio::post(io_, [this] { request_stop(exit_status::kSuccess, "killed from the debugger"); });
        });
  serial_->start(*com1_, [this] { request_stop(exit_status::kSuccess, "quit from the console (Ctrl-A x)"); });
  timeline_ = std::make_unique<Timeline>(clock_, scripted_lines_->injector(),
                                         [this](const std::string& text) { serial_->send_input(text); });
  timeline_->start(config_.inject);
  if (!config_.control.empty())
    control_ = std::make_unique<ControlServer>(
        io_, config_.control, [this](const nlohmann::json& request) { return handle_control(request); });
  for (auto& runner : runners_) runner->start();
  // Set up, and every other thread started: from here on the event loop's
  // allow-list holds for this thread until vmm exits.
  seccomp_.confine_current_thread(security::ThreadKind::EventLoop);
  if (trace_) trace_->start();
  if (scenario_) scenario_->start();
  if (sampler_)
    sampler_->start([this] {
      for (auto& runner : runners_) runner->request_sample();
    });

  // Each vCPU looks at the guest's #PF gate for the SYSCALL fix-up when it
  // leaves KVM_RUN. One that has not found it yet and has not left KVM_RUN
  // for a refresh interval (an AP that only halts and takes interrupts KVM
  // delivers in the kernel) is kicked out, so it finds the gate too.
  boost::asio::steady_timer syscall_refresh(io_);
  std::vector<std::uint64_t> exits_seen(runners_.size(), 0);
  std::function<void(const boost::system::error_code&)> refresh_syscall_fixups =
      [&](const boost::system::error_code& error) {
        if (error) return;
        for (std::size_t id = 0; id < runners_.size(); ++id) {
          const std::uint64_t exits = runners_[id]->exits();
          if (exits == exits_seen[id] && runners_[id]->awaits_syscall_fixup()) runners_[id]->kick();
          exits_seen[id] = exits;
        }
        syscall_refresh.expires_after(SyscallCompletion::kRefreshInterval);
        syscall_refresh.async_wait(refresh_syscall_fixups);
      };
  if (complete_syscalls_) {
    syscall_refresh.expires_after(SyscallCompletion::kRefreshInterval);
    syscall_refresh.async_wait(refresh_syscall_fixups);
  }

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
  if (sampler_) sampler_->stop();
  if (gdb_server_) gdb_server_->report_exit(run_state_.exit_status(), run_state_.signal());
  signals.cancel();
  serial_->finish();
  if (trace_) trace_->finish();
  int status = run_state_.exit_status();
  std::string report = run_state_.report();
  if (scenario_) scenario_->judge_end(status, report);
  if (!report.empty()) std::fprintf(stderr, "vmm: %s\n", report.c_str());
  return status;
}

nlohmann::json Machine::stats() const {
  return machine_stats({.paused = run_state_.paused(),
                        .injector = scripted_lines_->injector(),
                        .memory = memory_,
                        .serial_output = serial_->output_pump(),
                        .vcpus = vcpus_,
                        .runners = runners_,
                        .vcpu_stats = vcpu_stats_,
                        .io_bus = io_bus_,
                        .mmio_bus = mmio_bus_,
                        .tsc_khz = tsc_khz_,
                        .com1_irq = *com1_irq_,
                        .pit_irq = pit_irq_.get(),
                        .pit = pit_.get(),
                        .gdb = gdb_server_.get(),
                        .trace = trace_.get()});
}

void Machine::inject(const control::Inject& inject) {
  scripted_lines_->injector().schedule(
      inject.line, inject.count, inject.interval_us * 1000, clock_.now_ns(),
      Injector::pacing_for(inject.wait_for_ack));
}

void Machine::send_serial_input(const std::string& text) { serial_->send_input(text); }

void Machine::stop_after_reply() {
  // Posted, so the response goes out before the loop stops.
  boost::asio::post(io_, [this] { request_stop(exit_status::kSuccess, "stopped through the control socket"); });
}

nlohmann::json Machine::handle_control(const nlohmann::json& request) {
  const std::uint64_t start = trace_ ? trace::Tracer::now_ns() : 0;
  auto [response, kind] = control::dispatch(*this, request);
  if (trace_) trace_->control_request(kind, start, trace::Tracer::now_ns());
  return response;
}

}  // namespace vmm
