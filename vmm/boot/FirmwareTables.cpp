#include "vmm/boot/FirmwareTables.h"

#include "devices/AcpiPm.h"
#include "devices/CmosRtc.h"
#include "devices/I8042.h"
#include "vmm/GuestMemory.h"
#include "vmm/Platform.h"
#include "vmm/boot/AcpiTables.h"
#include "vmm/kvm/CpuTopology.h"

namespace vmm {

static_assert(VmConfig::kMaxVcpus <= MpTable::kMaxCpus, "every vCPU needs an APIC id in the MP table");

MpTable mp_table_for(const VmConfig& config, const GsiRoutingTable& routing,
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

void write_firmware_tables(GuestMemory& memory, const VmConfig& config, const GsiRoutingTable& routing,
                           const std::vector<kvm_cpuid_entry2>& supported_cpuid) {
  using namespace platform;
  const MpTable table = mp_table_for(config, routing, supported_cpuid);
  memory.write(table.guest_address(), table.bytes());
  if (!config.acpi) return;
  const AcpiTables acpi = AcpiTables::build({.cpus = config.vcpus,
                                             .ioapic_id = table.ioapic_id(),
                                             .ioapic_inputs = MpTable::ioapic_inputs(routing, config.irq_lines),
                                             .pm1a_event_port = kAcpiPmPort,
                                             .pm1a_control_port = kAcpiPmPort + AcpiPm::kEventBlockBytes,
                                             .sci_irq = kAcpiSciGsi,
                                             .s5_sleep_type = AcpiPm::kSleepTypeS5,
                                             .reset_port = I8042::kCommandPort,
                                             .reset_value = I8042::kCmdPulseResetLine,
                                             .century_register = CmosRtc::kCentury});
  memory.write(acpi.guest_address(), acpi.bytes());
}

}  // namespace vmm
