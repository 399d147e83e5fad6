#pragma once
// The Intel MultiProcessor Specification 1.4 tables that tell a guest its CPUs,
// its I/O APIC and how every interrupt line reaches it, built from the same
// value as the GSI routing that KVM gets (STYLE lesson 6), so the two can never
// disagree. Pure: bytes in a vector, written to guest memory by the machine.
//
// Layout (MP spec 1.4, chapter 4), at guest physical addresses:
//   0xF0000  floating pointer structure, 16 bytes ("_MP_", length 1, rev 4,
//            feature byte 1 = 0: a configuration table follows; feature byte
//            2 = 0: no IMCR, virtual-wire mode)
//   0xF0010  configuration table header, 44 bytes ("PCMP", OEM "VMM",
//            product "KVM VMM", local APIC at 0xFEE00000, no extended table)
//   0xF003C  the base table entries, in the order the spec requires:
//            processors (20 bytes each), the ISA bus, the I/O APIC, I/O
//            interrupt assignments, local interrupt assignments (8 bytes each).
// Both structures sit in the BIOS area that the Multiboot memory map marks
// reserved; Linux finds the floating pointer by scanning 0xF0000-0xFFFFF.
//
// Not written: the extended table (bus hierarchy, address space mapping), a
// PCI bus (vmm has none), and SMI entries.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "irq/GsiRoutingTable.h"
#include "irq/InterruptLines.h"

namespace vmm {

struct MpTableInput {
  unsigned cpus = 1;
  std::uint32_t cpu_signature = 0;  // CPUID.1:EAX (stepping, model, family)
  std::uint32_t cpu_features = 0;   // CPUID.1:EDX
  const GsiRoutingTable& routing;
  const std::vector<InterruptLineSpec>& lines;  // trigger modes of the scripted lines
};

class MpTable {
 public:
  static constexpr std::uint64_t kFloatingPointerAddress = 0xf0000;
  static constexpr std::uint64_t kConfigTableAddress = 0xf0010;
  static constexpr std::uint64_t kBiosAreaEnd = 0x100000;
  // What vmm keeps clear of kernels and modules: room for the largest table
  // (kMaxCpus processors, the bus, the IOAPIC, every ISA IRQ and IOAPIC-only
  // pin, two local entries). The rest of the BIOS area is RAM a kernel may use
  // (an ELF's first segment often starts a page below 1 MiB, with its headers).
  static constexpr std::uint64_t kReservedEnd = 0xf2000;
  static constexpr std::uint32_t kLocalApicAddress = 0xfee00000;
  static constexpr std::uint32_t kIoapicAddress = 0xfec00000;
  static constexpr std::uint8_t kLocalApicVersion = 0x14;  // an integrated xAPIC, as KVM's LAPIC reports
  static constexpr std::uint8_t kIoapicVersion = 0x11;     // KVM's IOAPIC version register
  // APIC ids are 0..cpus-1 and the I/O APIC takes the next one; 0xFF is the
  // broadcast id of local interrupt entries, so 254 CPUs would be the table's
  // own limit. vmm's (VmConfig::kMaxVcpus) is lower.
  static constexpr unsigned kMaxCpus = 254;
  static constexpr std::uint32_t kIsaIrqs = 16;  // GSIs 0-15 are the ISA IRQs of the same number

  // Entry types and sizes (MP spec 1.4, table 4-3).
  enum class EntryType : std::uint8_t { Processor = 0, Bus = 1, IoApic = 2, IoInterrupt = 3, LocalInterrupt = 4 };
  static constexpr std::size_t kFloatingPointerBytes = 16;
  static constexpr std::size_t kHeaderBytes = 44;
  static constexpr std::size_t kProcessorEntryBytes = 20;
  static constexpr std::size_t kOtherEntryBytes = 8;

  // Interrupt types (table 4-10) and the I/O and local interrupt flags (4-11).
  enum class InterruptType : std::uint8_t { Int = 0, Nmi = 1, Smi = 2, ExtInt = 3 };
  static constexpr std::uint16_t kPolarityConforms = 0b00, kPolarityActiveHigh = 0b01, kPolarityActiveLow = 0b11;
  static constexpr std::uint16_t kTriggerConforms = 0b00 << 2, kTriggerEdge = 0b01 << 2, kTriggerLevel = 0b11 << 2;
  static constexpr std::uint8_t kCpuEnabled = 1u << 0;        // EN
  static constexpr std::uint8_t kCpuBootProcessor = 1u << 1;  // BP
  static constexpr std::uint8_t kIoapicEnabled = 1u << 0;     // EN
  static constexpr std::uint8_t kAllLocalApics = 0xff;

  // The IOAPIC inputs a guest is told of, in GSI order: every ISA IRQ (GSI 0
  // arrives on pin 2) and the IOAPIC-only pins a scripted line drives, each
  // with its MPS INTI flags (polarity, trigger), which the ACPI MADT's
  // interrupt source overrides use too.
  struct IoapicInput {
    std::uint32_t gsi = 0;
    std::uint32_t pin = 0;
    std::uint16_t flags = 0;
  };
  static std::vector<IoapicInput> ioapic_inputs(const GsiRoutingTable& routing, const std::vector<InterruptLineSpec>& lines);

  // Throws std::invalid_argument when the CPU count is 0 or above kMaxCpus.
  static MpTable build(const MpTableInput& input);

  // Where the bytes go: the floating pointer, with the configuration table
  // right after it.
  std::uint64_t guest_address() const { return kFloatingPointerAddress; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  std::uint8_t ioapic_id() const { return ioapic_id_; }

  // The table decoded from its bytes, one line per structure or entry, as
  // `vmm run --print-mptable` shows it:
  //   cpu apic=0 version=0x14 flags=en,bp signature=0x000906ea features=0x178bfbff
  //   intsrc type=int bus=0 irq=0 -> ioapic 2 pin 2 flags=conforms
  std::string format() const;

 private:
  std::vector<std::uint8_t> bytes_;
  std::uint8_t ioapic_id_ = 0;
};

}  // namespace vmm
