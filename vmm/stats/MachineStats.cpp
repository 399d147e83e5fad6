#include "vmm/stats/MachineStats.h"

#include <cstdio>
#include <string>

#include "devices/Bus.h"
#include "devices/Pit8254.h"
#include "irq/Injector.h"
#include "irq/IrqfdLine.h"
#include "irq/ResampledIrqfdLine.h"
#include "vmm/GuestMemory.h"
#include "vmm/debug/GdbServer.h"
#include "vmm/kvm/ExitReasons.h"
#include "vmm/kvm/Vcpu.h"
#include "vmm/kvm/VcpuRunner.h"
#include "vmm/kvm/VcpuStats.h"
#include "vmm/serial/OutputPump.h"
#include "vmm/trace/TraceSession.h"

namespace vmm {

namespace {

// A reason vmm does not handle still gets a key in the stats.
std::string exit_reason_key(std::size_t reason) {
  if (const char* name = exit_reason_name(reason)) return name;
  return "reason_" + std::to_string(reason);
}

nlohmann::json latency_json(const Injector::Latency& latency) {
  return {{"samples", latency.samples},
          {"p50", latency.p50_ns},
          {"p99", latency.p99_ns},
          {"max", latency.max_ns},
          {"histogram_100ns", latency.histogram}};
}

nlohmann::json lines_json(const std::vector<Injector::LineStats>& line_stats) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& line : line_stats)
    lines.push_back({{"name", line.name},
                     {"gsi", line.gsi},
                     {"injected", line.injected},
                     {"delivered", line.delivered},
                     {"coalesced", line.coalesced},
                     {"spurious", line.spurious},
                     {"pending", line.pending},
                     {"delivered_by_vcpu", line.delivered_by_vcpu},
                     {"latency_ns", latency_json(line.latency)},
                     {"wake_marks", line.wake_marks},
                     {"wake_latency_ns", latency_json(line.wake_latency)}});
  return lines;
}

// "vcpus" and, summed over them, "exits".
void add_vcpus(const MachineStatsSources& sources, const std::vector<Injector::LineStats>& line_stats,
               nlohmann::json& stats) {
  nlohmann::json exits = nlohmann::json::object();
  nlohmann::json vcpus = nlohmann::json::array();
  for (std::size_t index = 0; index < sources.vcpus.size(); ++index) {
    nlohmann::json vcpu = {{"id", sources.vcpus[index]->id()}};
    nlohmann::json vcpu_exits = nlohmann::json::object();
    if (index < sources.runners.size()) {
      for (std::size_t reason = 0; reason < VcpuRunner::kExitReasons; ++reason) {
        const std::uint64_t count = sources.runners[index]->exits_by_reason(reason);
        if (count == 0) continue;
        const std::string name = exit_reason_key(reason);
        vcpu_exits[name] = count;
        exits[name] = exits.value(name, std::uint64_t{0}) + count;
      }
    }
    vcpu["exits"] = vcpu_exits;
    // Absent, never zero, where KVM has no statistics fd (before Linux 5.14).
    if (const auto ns = sources.vcpu_stats[index].halt_wait_ns()) vcpu["halt_wait_ns"] = *ns;
    if (const auto count = sources.vcpu_stats[index].halt_exits()) vcpu["halt_exits"] = *count;
    // Scripted lines only: KVM delivers the PIT's and COM1's interrupts without
    // telling us where.
    nlohmann::json interrupts = nlohmann::json::object();
    for (const auto& line : line_stats)
      interrupts[std::to_string(line.gsi)] = index < line.delivered_by_vcpu.size() ? line.delivered_by_vcpu[index] : 0;
    vcpu["interrupts"] = interrupts;
    vcpus.push_back(vcpu);
  }
  stats["exits"] = exits;
  stats["vcpus"] = vcpus;
}

// Port by port across the vCPUs, so no 64 Ki-entry table is built just to print a few.
nlohmann::json ports_json(std::span<const std::unique_ptr<VcpuRunner>> runners) {
  nlohmann::json ports = nlohmann::json::object();
  for (std::size_t port = 0; port < VcpuRunner::kPorts; ++port) {
    std::uint64_t accesses = 0;
    for (const auto& runner : runners) accesses += runner->port_accesses(port);
    if (accesses == 0) continue;
    char name[24];
    std::snprintf(name, sizeof name, "0x%zx", port);
    ports[name] = accesses;
  }
  return ports;
}

void add_emulation_fixups(std::span<const std::unique_ptr<VcpuRunner>> runners, nlohmann::json& stats) {
  nlohmann::json fixups = nlohmann::json::object();
  for (unsigned kind = 0; kind < EmulationFixup::kKinds; ++kind) {
    std::uint64_t count = 0;
    for (const auto& runner : runners) count += runner->emulation_fixups(static_cast<EmulationFixup::Kind>(kind));
    fixups[std::string(EmulationFixup::name(static_cast<EmulationFixup::Kind>(kind)))] = count;
  }
  stats["emulation_fixups"] = fixups;
  std::uint64_t fixup_ns = 0;
  for (const auto& runner : runners) fixup_ns += runner->emulation_fixup_ns();
  stats["emulation_fixup_ns"] = fixup_ns;
}

}  // namespace

nlohmann::json machine_stats(const MachineStatsSources& sources) {
  nlohmann::json stats;
  stats["paused"] = sources.paused;
  const auto line_stats = sources.injector.stats();
  stats["lines"] = lines_json(line_stats);
  stats["stray_acknowledgements"] = sources.injector.stray_acknowledgements();
  stats["stray_wake_marks"] = sources.injector.stray_wake_marks();
  stats["memory"] = {{"guest_bytes", sources.memory.size()}, {"guest_resident_bytes", sources.memory.resident_bytes()}};
  const auto& output = sources.serial_output;
  stats["serial"] = {{"bytes_out", output.bytes_accepted()},
                     {"bytes_delivered", output.bytes_delivered()},
                     {"bytes_discarded", output.bytes_discarded()}};
  add_vcpus(sources, line_stats, stats);
  // What the guest's TSC runs at (KVM_GET_TSC_KHZ): the reference for a
  // guest's own calibration. Absent where KVM cannot say.
  if (sources.tsc_khz) stats["tsc_khz"] = *sources.tsc_khz;
  add_emulation_fixups(sources.runners, stats);
  nlohmann::json by_vcpu = nlohmann::json::array();
  for (const auto& runner : sources.runners) by_vcpu.push_back(runner->exits());
  stats["exits_by_vcpu"] = by_vcpu;
  stats["port_io"] = ports_json(sources.runners);
  stats["unclaimed"] = {{"port_io", sources.io_bus.unclaimed_accesses()},
                        {"mmio", sources.mmio_bus.unclaimed_accesses()}};

  nlohmann::json interrupts = nlohmann::json::object();
  if (sources.pit_irq) interrupts[std::to_string(sources.pit_irq->gsi())] = sources.pit_irq->assertions();
  interrupts[std::to_string(sources.com1_irq.gsi())] = sources.com1_irq.edges();
  for (const auto& line : line_stats) interrupts[std::to_string(line.gsi)] = line.injected;
  stats["interrupts_by_gsi"] = interrupts;
  if (sources.gdb) stats["gdb"] = sources.gdb->stats();
  if (sources.trace) stats["trace"] = sources.trace->stats();
  if (sources.pit) {
    const auto pit = sources.pit->stats();
    stats["pit"] = {{"irq_edges", pit.irq_edges},
                    {"late_edges", pit.missed_edges},
                    {"dropped_reinjects", pit.dropped_reinjects},
                    {"lost_eois", pit.lost_eois}};
  }
  return stats;
}

}  // namespace vmm
