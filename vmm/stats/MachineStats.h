#pragma once
// The run's counters as one JSON value (docs/statistics.md): what the control
// socket's `stats`, `--stats FILE` at exit and tools/slurm/gather all read.
// Assembled from the parts that own each counter; every part is read, never
// changed, so a snapshot may be taken while the vCPUs run.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

namespace vmm {

class Bus;
class GuestMemory;
class Injector;
class IrqfdLine;
class OutputPump;
class Pit8254;
class ResampledIrqfdLine;
class Vcpu;
class VcpuRunner;
class VcpuStats;
namespace debug {
class GdbServer;
}
namespace trace {
class TraceSession;
}

struct MachineStatsSources {
  bool paused = false;
  const Injector& injector;
  const GuestMemory& memory;
  const OutputPump& serial_output;
  std::span<const std::unique_ptr<Vcpu>> vcpus;
  std::span<const std::unique_ptr<VcpuRunner>> runners;  // empty before the run starts
  std::span<const VcpuStats> vcpu_stats;                 // one per vCPU
  const Bus& io_bus;
  const Bus& mmio_bus;
  std::optional<std::uint32_t> tsc_khz;
  const IrqfdLine& com1_irq;
  const ResampledIrqfdLine* pit_irq = nullptr;  // with the user-space PIT only
  const Pit8254* pit = nullptr;                 // likewise
  const debug::GdbServer* gdb = nullptr;        // with --gdb only
  const trace::TraceSession* trace = nullptr;   // with --trace only
};

nlohmann::json machine_stats(const MachineStatsSources& sources);

}  // namespace vmm
