#pragma once
// Scripted interrupt lines declared in the config: a name, a GSI and a trigger.
// The GSI says where the line goes: 1-15 are ISA lines (PIC pin and IOAPIC pin
// of the PC routes), 16-23 IOAPIC-only pins, 24 and up MSI routes straight to a
// LAPIC vector. routing_for() checks the lines against each other and against
// the devices vmm already wires, and adds their routes to the PC table.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "irq/GsiRoutingTable.h"

namespace vmm {

enum class Trigger { Edge, Level };

struct MsiDestination {
  std::uint32_t apic_id;
  std::uint32_t vector;
};

struct InterruptLineSpec {
  std::string name;
  std::uint32_t gsi;
  Trigger trigger = Trigger::Edge;
  std::optional<MsiDestination> msi;  // required for GSI >= 24, refused below
};

// GSIs the machine's own devices drive; a scripted line may not take them.
struct ReservedGsi {
  std::uint32_t gsi;
  const char* owner;
};

class InterruptLines {
 public:
  static constexpr std::uint32_t kMaxGsi = 1023;
  static constexpr std::uint32_t kFirstUsableVector = 32;  // 0-31 are CPU exceptions

  // The MSI message (address and data) that delivers `vector`, fixed mode,
  // edge, to the LAPIC `apic_id`, in physical destination mode.
  static MsiTarget msi_message(const MsiDestination& destination);

  // Throws std::invalid_argument("<index>: <why>") for the first bad line, where
  // index is its position in `lines`, so callers can name the JSON path.
  static void validate(const std::vector<InterruptLineSpec>& lines, const std::vector<ReservedGsi>& reserved);

  // The PC routing table plus the MSI routes of `lines` (ISA and IOAPIC lines
  // use the PC routes already in it). Validates first.
  static GsiRoutingTable routing_for(const std::vector<InterruptLineSpec>& lines,
                                     const std::vector<ReservedGsi>& reserved);
};

}  // namespace vmm
