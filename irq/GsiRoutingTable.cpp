#include "irq/GsiRoutingTable.h"

#include "base/KvmAbi.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace vmm {

namespace {

std::string chip_name(Irqchip chip) {
  switch (chip) {
    case Irqchip::PicMaster: return "pic-master";
    case Irqchip::PicSlave: return "pic-slave";
    case Irqchip::Ioapic: return "ioapic";
  }
  return "?";
}

std::uint32_t pins_of(Irqchip chip) {
  return chip == Irqchip::Ioapic ? GsiRoutingTable::kIoapicPins : GsiRoutingTable::kPicPins;
}

std::string describe(const GsiRoute& route) {
  char line[128];
  if (const auto* pin = std::get_if<IrqchipPin>(&route.target)) {
    std::snprintf(line, sizeof line, "gsi %-3u -> %s pin %u", route.gsi, chip_name(pin->chip).c_str(), pin->pin);
  } else {
    const auto& msi = std::get<MsiTarget>(route.target);
    // Decoded as the LAPIC sees it: destination id in address bits 19:12, vector in data bits 7:0.
    std::snprintf(line, sizeof line, "gsi %-3u -> msi dest-apic %u vector %u (addr 0x%08x%08x data 0x%08x)",
                  route.gsi, (msi.address_lo >> 12) & 0xff, msi.data & 0xff, msi.address_hi, msi.address_lo,
                  msi.data);
  }
  return line;
}

}  // namespace

GsiRoutingTable GsiRoutingTable::standard_pc() {
  GsiRoutingTable table;
  for (std::uint32_t gsi = 0; gsi < 16; ++gsi) {
    if (gsi == 2) continue;
    Irqchip pic = gsi < 8 ? Irqchip::PicMaster : Irqchip::PicSlave;
    table.add({gsi, IrqchipPin{pic, gsi % kPicPins}});
    table.add({gsi, IrqchipPin{Irqchip::Ioapic, gsi == 0 ? 2u : gsi}});
  }
  for (std::uint32_t gsi = 16; gsi < kIoapicPins; ++gsi) table.add({gsi, IrqchipPin{Irqchip::Ioapic, gsi}});
  return table;
}

void GsiRoutingTable::add(const GsiRoute& route) {
  if (const auto* pin = std::get_if<IrqchipPin>(&route.target)) {
    if (pin->pin >= pins_of(pin->chip))
      throw std::invalid_argument(describe(route) + ": " + chip_name(pin->chip) + " has only " +
                                  std::to_string(pins_of(pin->chip)) + " pins");
  } else if (route.gsi < kFirstMsiGsi) {
    throw std::invalid_argument(describe(route) + ": MSI routes start at GSI " + std::to_string(kFirstMsiGsi));
  }
  if (std::find(routes_.begin(), routes_.end(), route) != routes_.end())
    throw std::invalid_argument(describe(route) + ": route added twice");
  routes_.push_back(route);
}

std::vector<const GsiRoute*> GsiRoutingTable::routes_for(std::uint32_t gsi) const {
  std::vector<const GsiRoute*> found;
  for (const auto& route : routes_)
    if (route.gsi == gsi) found.push_back(&route);
  return found;
}

std::vector<std::uint8_t> GsiRoutingTable::to_kvm() const {
  std::vector<std::uint8_t> buffer(kvm_abi::kEntriesOffset + routes_.size() * sizeof(kvm_irq_routing_entry));
  const kvm_abi::FlexArrayHeader header{static_cast<std::uint32_t>(routes_.size()), 0};
  std::memcpy(buffer.data(), &header, sizeof header);
  auto* out = buffer.data() + kvm_abi::kEntriesOffset;
  for (const auto& route : routes_) {
    kvm_irq_routing_entry entry{};
    entry.gsi = route.gsi;
    if (const auto* pin = std::get_if<IrqchipPin>(&route.target)) {
      entry.type = KVM_IRQ_ROUTING_IRQCHIP;
      entry.u.irqchip.irqchip = static_cast<std::uint32_t>(pin->chip);
      entry.u.irqchip.pin = pin->pin;
    } else {
      const auto& msi = std::get<MsiTarget>(route.target);
      entry.type = KVM_IRQ_ROUTING_MSI;
      entry.u.msi.address_lo = msi.address_lo;
      entry.u.msi.address_hi = msi.address_hi;
      entry.u.msi.data = msi.data;
    }
    std::memcpy(out, &entry, sizeof entry);
    out += sizeof entry;
  }
  return buffer;
}

std::string GsiRoutingTable::format() const {
  std::vector<const GsiRoute*> sorted;
  for (const auto& route : routes_) sorted.push_back(&route);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->gsi < b->gsi; });
  std::string text;
  for (const auto* route : sorted) text += describe(*route) + "\n";
  return text;
}

}  // namespace vmm
