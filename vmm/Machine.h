#pragma once
// The PC-like machine: guest RAM, the in-kernel PIC/IOAPIC/LAPICs with our GSI
// routing, the user-space PIT, UART, port 0x61, i8042 reset and debug-exit on the
// port bus, one thread per vCPU and the event loop that owns time, output and
// signals. Built whole in the constructor (set-up errors throw); run() blocks
// until the guest or the user ends the run and returns the exit status.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "devices/AbsentDevice.h"
#include "devices/AcpiPm.h"
#include "devices/Bus.h"
#include "devices/CmosRtc.h"
#include "devices/DebugExit.h"
#include "devices/I8042.h"
#include "devices/InterruptAckPort.h"
#include "devices/Pit8254.h"
#include "devices/ScratchRegister.h"
#include "devices/TracePort.h"
#include "devices/Uart16550.h"
#include "devices/WakeMarkPort.h"
#include "irq/GsiRoutingTable.h"
#include "irq/Injector.h"
#include "irq/IrqfdLine.h"
#include "irq/ResampledIrqfdLine.h"
#include "irq/ScriptedLines.h"
#include "vmm/AsioClock.h"
#include "vmm/Config.h"
#include "vmm/GuestMemory.h"
#include "vmm/control/ControlServer.h"
#include "vmm/control/ControlTarget.h"
#include "vmm/control/Timeline.h"
#include "vmm/scenario/Scenario.h"
#include "vmm/debug/GdbServer.h"
#include "vmm/debug/GdbTarget.h"
#include "vmm/kvm/Kvm.h"
#include "vmm/kvm/RunState.h"
#include "vmm/kvm/Vcpu.h"
#include "vmm/kvm/VcpuRunner.h"
#include "vmm/kvm/VcpuStats.h"
#include "vmm/kvm/Vm.h"
#include "vmm/loader/EntryState.h"
#include "vmm/profile/Sampler.h"
#include "vmm/loader/KernelLoader.h"
#include "vmm/security/SeccompFilters.h"
#include "vmm/serial/SerialBackend.h"
#include "vmm/trace/TraceSession.h"

namespace vmm {

class Machine final : public RunControl, public control::ControlTarget {
 public:
  Machine(const VmConfig& config, const KernelImage& kernel);
  ~Machine() override;

  int run();

  // Counters of the run (docs/statistics.md): live from the control socket,
  // or at exit.
  nlohmann::json stats() const override;
  // With --profile, after run(): the sampler and its counts; null otherwise.
  const profile::Sampler* profile() const { return sampler_.get(); }

  void request_stop(int status, std::string report) override { request_stop(status, std::move(report), 0); }
  // `signal`: the host signal that ends the run (the debugger is told), 0 for none.
  void request_stop(int status, std::string report, int signal);
  bool stopping() const override { return run_state_.stopping(); }
  bool paused() const override { return run_state_.paused(); }
  void wait_while_paused() override { run_state_.wait_while_paused(); }

  // control::ControlTarget: what the control socket's requests do.
  void inject(const control::Inject& inject) override;
  void send_serial_input(const std::string& text) override;
  // Stop every vCPU at its next exit and keep them out of KVM_RUN until resume().
  // Devices and time go on (the PIT keeps counting, as a real one would).
  void pause() override;
  void resume() override { run_state_.resume(); }
  // An NMI to the boot vCPU, as QEMU's `nmi` monitor command.
  void nmi() override;
  void stop_after_reply() override;

 private:
  void attach_devices();
  void attach_debugger();
  nlohmann::json handle_control(const nlohmann::json& request);
  void start_trace();
  // With --trace, an event of the host's on the trace's timeline.
  void trace_event(trace::RecordKind kind, std::uint64_t value = 0) const {
    if (trace_) trace::Tracer::record({.start = trace::Tracer::now_ns(), .a = value, .kind = kind});
  }
  // With --trace, the trace's stand-in for a device's line, output or clock;
  // the part itself otherwise.
  template <typename Part, typename... How>
  Part& traced(Part& part, How... how) {
    return trace_ ? trace_->tap(part, how...) : part;
  }

  VmConfig config_;
  // Compiled before any thread exists; each confines itself once set up.
  security::SeccompFilters seccomp_;
  boost::asio::io_context io_;
  // The guest is loaded before /dev/kvm is opened, so bad input is reported the
  // same way with or without KVM.
  GuestMemory memory_;
  EntryState entry_;
  Kvm kvm_;
  // Where KVM runs guest ring 0 in its emulator and leaves SYSCALL half done
  // (vmm/kvm/SyscallCompletion.h): every vCPU completes them.
  const bool complete_syscalls_ = host_emulates_guest_ring0();
  Vm vm_;
  GsiRoutingTable routing_;
  AsioClock clock_;
  // With --trace only; outlives everything that records into it.
  std::unique_ptr<trace::TraceSession> trace_;
  std::unique_ptr<SerialBackend> serial_;
  std::unique_ptr<ResampledIrqfdLine> pit_irq_;
  std::unique_ptr<IrqfdLine> com1_irq_;
  std::unique_ptr<Pit8254> pit_;
  std::unique_ptr<SystemControlPort> system_control_;
  std::unique_ptr<Uart16550> com1_;
  std::unique_ptr<DebugExit> debug_exit_;
  std::unique_ptr<IrqfdLine> i8042_irq_;
  std::unique_ptr<I8042> i8042_;
  ScratchRegister post_code_, scratch_mmio_;
  AbsentDevice pci_config_;
  std::unique_ptr<CmosRtc> rtc_;
  std::unique_ptr<AcpiPm> acpi_pm_;  // only with config.acpi
  // Scripted lines from the config, by name: what inject commands drive.
  std::unique_ptr<ScriptedLines> scripted_lines_;
  std::unique_ptr<InterruptAckPort> ack_port_;
  std::unique_ptr<WakeMarkPort> wake_mark_port_;
  std::unique_ptr<TracePort> trace_port_;
  std::unique_ptr<Timeline> timeline_;
  // With a "scenario" in the config: between the UART and its sink, and
  // driving the VM as the control socket does.
  std::unique_ptr<Scenario> scenario_;
  std::unique_ptr<ControlServer> control_;
  Bus io_bus_{"port I/O bus"};
  Bus mmio_bus_{"MMIO bus"};
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::optional<std::uint32_t> tsc_khz_;  // KVM_GET_TSC_KHZ of vCPU 0
  std::vector<VcpuStats> vcpu_stats_;     // one per vCPU; empty ones where KVM has no statistics fd
  std::vector<std::unique_ptr<VcpuRunner>> runners_;
  // With --gdb only. The target outlives the runners that hold it as DebugHooks.
  std::unique_ptr<debug::GdbTarget> gdb_target_;
  std::unique_ptr<debug::GdbServer> gdb_server_;
  std::unique_ptr<profile::Sampler> sampler_;  // with --profile only

  RunState run_state_;
};

}  // namespace vmm
