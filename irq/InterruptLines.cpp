#include "irq/InterruptLines.h"

#include <set>
#include <stdexcept>

namespace vmm {

namespace {

constexpr std::uint32_t kMsiAddressBase = 0xfee00000;
constexpr std::uint32_t kMsiDestinationShift = 12;
constexpr std::uint32_t kMaxApicId = 255;  // xAPIC physical destination

[[noreturn]] void reject(std::size_t index, const std::string& why) {
  throw std::invalid_argument(std::to_string(index) + ": " + why);
}

}  // namespace

MsiTarget InterruptLines::msi_message(const MsiDestination& destination) {
  return {kMsiAddressBase | destination.apic_id << kMsiDestinationShift, 0, destination.vector};
}

void InterruptLines::validate(const std::vector<InterruptLineSpec>& lines, const std::vector<ReservedGsi>& reserved) {
  std::set<std::string> names;
  std::set<std::uint32_t> gsis;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.name.empty()) reject(i, "a line needs a name");
    if (!names.insert(line.name).second) reject(i, "the name \"" + line.name + "\" is used twice");
    if (line.gsi > kMaxGsi) reject(i, "GSI " + std::to_string(line.gsi) + " is above " + std::to_string(kMaxGsi));
    if (!gsis.insert(line.gsi).second) reject(i, "GSI " + std::to_string(line.gsi) + " is used by two lines");
    for (const auto& taken : reserved)
      if (taken.gsi == line.gsi)
        reject(i, "GSI " + std::to_string(line.gsi) + " belongs to the " + taken.owner);
    if (line.gsi == 0) reject(i, "GSI 0 is the PIT's timer line");
    if (line.gsi == 2) reject(i, "GSI 2 is the PIC cascade and has no route");
    const bool msi_gsi = line.gsi >= GsiRoutingTable::kFirstMsiGsi;
    if (msi_gsi && !line.msi)
      reject(i, "GSI " + std::to_string(line.gsi) + " is past the IOAPIC's 24 pins: give it an msi target");
    if (!msi_gsi && line.msi)
      reject(i, "MSI lines use GSI " + std::to_string(GsiRoutingTable::kFirstMsiGsi) +
                    " and up; GSI " + std::to_string(line.gsi) + " is an interrupt controller pin");
    if (line.msi) {
      if (line.trigger == Trigger::Level) reject(i, "MSI is edge-triggered; a level MSI line cannot exist");
      if (line.msi->vector < kFirstUsableVector || line.msi->vector > 255)
        reject(i, "MSI vector " + std::to_string(line.msi->vector) + " is outside 32-255 (0-31 are exceptions)");
      if (line.msi->apic_id > kMaxApicId)
        reject(i, "destination APIC id " + std::to_string(line.msi->apic_id) + " is above 255");
    }
  }
}

GsiRoutingTable InterruptLines::routing_for(const std::vector<InterruptLineSpec>& lines,
                                            const std::vector<ReservedGsi>& reserved) {
  validate(lines, reserved);
  GsiRoutingTable table = GsiRoutingTable::standard_pc();
  for (const auto& line : lines)
    if (line.msi) table.add({line.gsi, msi_message(*line.msi)});
  return table;
}

}  // namespace vmm
