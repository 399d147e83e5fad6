#pragma once
// The GSI routing table as one value: every route the VM has (PIC pins, IOAPIC
// pins, MSI targets) lives here, is validated here, and is installed whole with
// KVM_SET_GSI_ROUTING. The same value is what `vmm run --print-routing` shows.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace vmm {

enum class Irqchip : std::uint8_t { PicMaster = 0, PicSlave = 1, Ioapic = 2 };

struct IrqchipPin {
  Irqchip chip;
  std::uint32_t pin;
  bool operator==(const IrqchipPin&) const = default;
};

struct MsiTarget {
  std::uint32_t address_lo;
  std::uint32_t address_hi;
  std::uint32_t data;
  bool operator==(const MsiTarget&) const = default;
};

struct GsiRoute {
  std::uint32_t gsi;
  std::variant<IrqchipPin, MsiTarget> target;
  bool operator==(const GsiRoute&) const = default;
};

class GsiRoutingTable {
 public:
  static constexpr std::uint32_t kPicPins = 8;
  static constexpr std::uint32_t kIoapicPins = 24;
  static constexpr std::uint32_t kFirstMsiGsi = 24;

  // The PC platform: GSI 0 to PIC pin 0 and IOAPIC pin 2 (the timer's interrupt
  // source override); GSI 1 and 3-15 to the PIC pin and the IOAPIC pin of the
  // same number; GSI 16-23 to IOAPIC pins only. GSI 2 gets no route: PIC pin 2
  // is the cascade and IOAPIC pin 2 belongs to GSI 0.
  static GsiRoutingTable standard_pc();

  // Throws std::invalid_argument naming the route when a pin is out of range or
  // the same route is added twice.
  void add(const GsiRoute& route);

  const std::vector<GsiRoute>& routes() const { return routes_; }
  std::vector<const GsiRoute*> routes_for(std::uint32_t gsi) const;

  // The kvm_irq_routing structure with its trailing entries, ready for
  // kvm_abi::kSetGsiRouting.
  std::vector<std::uint8_t> to_kvm() const;

  // One line per route, sorted by GSI: "gsi 0  -> pic-master pin 0".
  std::string format() const;

 private:
  std::vector<GsiRoute> routes_;
};

}  // namespace vmm
