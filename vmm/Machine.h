#pragma once
// The PC-like machine: guest RAM, the in-kernel PIC/IOAPIC/LAPICs with our GSI
// routing, the user-space PIT, UART, port 0x61, i8042 reset and debug-exit on the
// port bus, one thread per vCPU and the event loop that owns time, output and
// signals. Built whole in the constructor (set-up errors throw); run() blocks
// until the guest or the user ends the run and returns the exit status.

#include <atomic>
#include <condition_variable>
#include <boost/asio/io_context.hpp>
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
#include "devices/InterruptAckPort.h"
#include "devices/I8042.h"
#include "devices/ScratchRegister.h"
#include "devices/TracePort.h"
#include "devices/Pit8254.h"
#include "devices/Uart16550.h"
#include "devices/WakeMarkPort.h"
#include "irq/GsiRoutingTable.h"
#include "irq/Injector.h"
#include "irq/IrqfdLine.h"
#include "irq/ResampledIrqfdLine.h"
#include "vmm/AsioClock.h"
#include "vmm/Config.h"
#include "vmm/GuestMemory.h"
#include "vmm/Kvm.h"
#include "vmm/Vcpu.h"
#include "vmm/VcpuRunner.h"
#include "vmm/Vm.h"
#include "vmm/boot/AcpiTables.h"
#include "vmm/boot/MpTable.h"
#include "vmm/control/ControlServer.h"
#include "vmm/kvm/VcpuStats.h"
#include "vmm/loader/EntryState.h"
#include "vmm/debug/GdbServer.h"
#include "vmm/debug/GdbTarget.h"
#include "vmm/security/SeccompFilters.h"
#include "vmm/serial/SerialBackend.h"
#include "vmm/trace/TraceSession.h"
#include "vmm/trace/TracedIrqLine.h"
#include "vmm/trace/TracingByteSink.h"
#include "vmm/trace/TracingClock.h"

namespace vmm {

struct KernelImage {
  std::string name;  // first word of the Multiboot command line, as GRUB and QEMU pass it
  std::vector<std::uint8_t> bytes;
};

class Machine final : public RunControl {
 public:
  Machine(const VmConfig& config, const KernelImage& kernel);
  ~Machine() override;

  int run();

  // Counters of the run (see README, "Statistics"): live from the control
  // socket, or at exit.
  nlohmann::json stats() const;

  void request_stop(int status, std::string report) override;
  bool stopping() const override { return stopping_.load(); }
  bool paused() const override { return paused_.load(); }
  void wait_while_paused() override;

  // Stop every vCPU at its next exit and keep them out of KVM_RUN until resume().
  // Devices and time go on (the PIT keeps counting, as a real one would).
  void pause();
  void resume();
  // An NMI to the boot vCPU, as QEMU's `nmi` monitor command.
  void nmi();

  // The MP table a VM of `config` gets: its CPUs with the signature and
  // features vCPU 0 reports from `supported_cpuid`, and the IOAPIC entries of
  // `routing`. What `vmm run --print-mptable` prints.
  static MpTable mp_table(const VmConfig& config, const GsiRoutingTable& routing,
                          const std::vector<kvm_cpuid_entry2>& supported_cpuid);

 private:
  // By the image's format: Multiboot, a Linux bzImage or a vmlinux.
  static EntryState load_kernel(const VmConfig& config, const KernelImage& kernel, GuestMemory& memory);
  static EntryState load_multiboot(const VmConfig& config, const KernelImage& kernel, GuestMemory& memory);
  void attach_devices();
  void attach_debugger();
  void start_timeline();
  nlohmann::json handle_control(const nlohmann::json& request);
  void create_vcpus(const EntryState& entry, const std::vector<kvm_cpuid_entry2>& supported_cpuid);
  void start_trace();
  // With --trace, the traced stand-ins the devices get; the plain ones otherwise.
  IrqLine& traced(IrqLine& line, trace::TracedIrqLine::Style style, std::uint32_t track,
                  std::unique_ptr<trace::TracedIrqLine>& keep);

  VmConfig config_;
  // Compiled before any thread exists; each confines itself once set up.
  security::SeccompFilters seccomp_;
  boost::asio::io_context io_;
  // The guest is loaded before /dev/kvm is opened, so bad input is reported the
  // same way with or without KVM.
  GuestMemory memory_;
  EntryState entry_;
  Kvm kvm_;
  Vm vm_;
  GsiRoutingTable routing_;
  AsioClock clock_;
  // With --trace only; outlives everything that records into it.
  std::unique_ptr<trace::TraceSession> trace_;
  std::unique_ptr<trace::TracedIrqLine> traced_pit_irq_, traced_com1_irq_;
  std::unique_ptr<trace::TracingByteSink> traced_serial_out_;
  std::unique_ptr<trace::TracingClock> traced_pit_clock_;
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
  std::vector<std::pair<std::string, std::unique_ptr<IrqLine>>> scripted_lines_;
  std::unique_ptr<Injector> injector_;
  std::unique_ptr<InterruptAckPort> ack_port_;
  std::unique_ptr<WakeMarkPort> wake_mark_port_;
  std::unique_ptr<TracePort> trace_port_;
  std::vector<std::unique_ptr<DeadlineTimer>> timeline_timers_;
  std::unique_ptr<ControlServer> control_;
  Bus io_bus_{"port I/O bus"};
  Bus mmio_bus_{"MMIO bus"};
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::optional<std::uint32_t> tsc_khz_;  // KVM_GET_TSC_KHZ of vCPU 0
  std::vector<VcpuStats> vcpu_stats_;  // one per vCPU; empty ones where KVM has no statistics fd
  std::vector<std::unique_ptr<VcpuRunner>> runners_;
  // With --gdb only. The target outlives the runners that hold it as DebugHooks.
  std::unique_ptr<debug::GdbTarget> gdb_target_;
  std::unique_ptr<debug::GdbServer> gdb_server_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> paused_{false};
  std::mutex pause_mutex_;
  std::condition_variable pause_changed_;
  std::mutex stop_mutex_;
  int exit_status_ = 0;
  std::string stop_report_;
};

}  // namespace vmm
