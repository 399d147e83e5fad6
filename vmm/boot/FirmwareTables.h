#pragma once
// The tables firmware would leave for the guest in the BIOS area: the MP table
// always, and the ACPI tables (RSDP, XSDT, FADT, DSDT, MADT) unless the config
// turns ACPI off. Both are built from the same GSI routing KVM gets, and vCPU 0's
// CPUID, so they describe exactly the machine the guest runs on.

#include <linux/kvm.h>

#include <vector>

#include "irq/GsiRoutingTable.h"
#include "vmm/Config.h"
#include "vmm/boot/MpTable.h"

namespace vmm {

class GuestMemory;

// The MP table a VM of `config` gets: its CPUs with the signature and features
// vCPU 0 reports from `supported_cpuid`, and the IOAPIC entries of `routing`.
// What `vmm run --print-mptable` prints.
MpTable mp_table_for(const VmConfig& config, const GsiRoutingTable& routing,
                     const std::vector<kvm_cpuid_entry2>& supported_cpuid);

// Writes the MP table and, with config.acpi, the ACPI tables. The loaders keep
// the BIOS area clear, and RAM is at least 2 MiB, so this lands in RAM.
void write_firmware_tables(GuestMemory& memory, const VmConfig& config, const GsiRoutingTable& routing,
                           const std::vector<kvm_cpuid_entry2>& supported_cpuid);

}  // namespace vmm
