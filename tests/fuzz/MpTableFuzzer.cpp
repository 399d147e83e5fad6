// libFuzzer target for the MP table builder's inputs: any vCPU count and any
// set of scripted lines the config would accept. The table must then pass the
// checks a guest makes (signatures, checksums, lengths, entry order), list
// every CPU once with the boot flag on CPU 0 alone, and hold one I/O interrupt
// entry per IOAPIC route of an ISA IRQ or scripted IOAPIC-only line. The ACPI
// tables built from the same input must fit their room, checksum, and list
// the same CPUs in the MADT, with at most one override per ISA IRQ.

#include <fuzzer/FuzzedDataProvider.h>

#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "FuzzCheck.h"
#include "irq/InterruptLines.h"
#include "vmm/boot/AcpiTables.h"
#include "vmm/boot/MpTable.h"
#include "vmm/boot/TableBytes.h"

namespace {

std::uint8_t sum(const std::uint8_t* bytes, std::size_t count) {
  return static_cast<std::uint8_t>(std::accumulate(bytes, bytes + count, 0u));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const unsigned cpus = input.ConsumeIntegralInRange(0u, 300u);
  std::vector<vmm::InterruptLineSpec> lines;
  const int count = input.ConsumeIntegralInRange(0, 12);
  for (int i = 0; i < count; ++i) {
    vmm::InterruptLineSpec line;
    line.name = "l" + std::to_string(i);
    line.gsi = input.ConsumeIntegralInRange(0u, 40u);
    line.trigger = input.ConsumeBool() ? vmm::Trigger::Level : vmm::Trigger::Edge;
    if (input.ConsumeBool()) line.msi = vmm::MsiDestination{input.ConsumeIntegralInRange(0u, 300u),
                                                            input.ConsumeIntegralInRange(0u, 300u)};
    lines.push_back(line);
  }
  vmm::GsiRoutingTable routing;
  try {
    routing = vmm::InterruptLines::routing_for(lines, {{0, "8254 PIT"}, {4, "COM1 UART"}});
  } catch (const std::invalid_argument&) {
    return 0;  // the config would refuse these lines
  }
  vmm::MpTable table = [&] {
    try {
      return vmm::MpTable::build({cpus, input.ConsumeIntegral<std::uint32_t>(), input.ConsumeIntegral<std::uint32_t>(),
                                  routing, lines});
    } catch (const std::invalid_argument&) {
      FUZZ_CHECK(cpus == 0 || cpus > vmm::MpTable::kMaxCpus);
      return vmm::MpTable::build({1, 0, 0, routing, lines});
    }
  }();
  const unsigned listed = cpus == 0 || cpus > vmm::MpTable::kMaxCpus ? 1 : cpus;

  const auto& bytes = table.bytes();
  FUZZ_CHECK(bytes.size() >= 16 + 44);
  FUZZ_CHECK(table.guest_address() + bytes.size() <= vmm::MpTable::kReservedEnd);
  FUZZ_CHECK(std::string(bytes.begin(), bytes.begin() + 4) == "_MP_" && bytes[8] == 1 && sum(bytes.data(), 16) == 0);
  const std::uint8_t* header = bytes.data() + 16;
  const std::size_t length = header[4] | header[5] << 8;
  FUZZ_CHECK(std::string(header, header + 4) == "PCMP" && 16 + length == bytes.size() && sum(header, length) == 0);

  unsigned processors = 0, boot = 0, io_entries = 0, last_type = 0;
  std::set<unsigned> apic_ids;
  for (std::size_t at = 44; at < length;) {
    const unsigned type = header[at];
    FUZZ_CHECK(type <= 4 && type >= last_type);  // the spec's order
    last_type = type;
    const std::size_t entry = type == 0 ? 20 : 8;
    FUZZ_CHECK(at + entry <= length);
    if (type == 0) {
      ++processors;
      apic_ids.insert(header[at + 1]);
      if (header[at + 3] & vmm::MpTable::kCpuBootProcessor) {
        ++boot;
        FUZZ_CHECK(header[at + 1] == 0);
      }
    }
    if (type == 3) ++io_entries;
    at += entry;
  }
  FUZZ_CHECK(processors == listed && apic_ids.size() == listed && boot == 1);
  unsigned routed = 0;
  for (const auto& route : routing.routes()) {
    const auto* pin = std::get_if<vmm::IrqchipPin>(&route.target);
    if (pin && pin->chip == vmm::Irqchip::Ioapic && (route.gsi < 16 || [&] {
          for (const auto& line : lines)
            if (line.gsi == route.gsi) return true;
          return false;
        }()))
      ++routed;
  }
  FUZZ_CHECK(io_entries == routed);

  using namespace vmm::table_bytes;
  const vmm::AcpiTables acpi = vmm::AcpiTables::build({.cpus = listed,
                                                       .ioapic_id = table.ioapic_id(),
                                                       .ioapic_inputs = vmm::MpTable::ioapic_inputs(routing, lines),
                                                       .pm1a_event_port = 0x600,
                                                       .pm1a_control_port = 0x604,
                                                       .sci_irq = 9,
                                                       .s5_sleep_type = 5,
                                                       .reset_port = 0x64,
                                                       .reset_value = 0xfe,
                                                       .century_register = 0x32});
  const std::span<const std::uint8_t> image(acpi.bytes());
  FUZZ_CHECK(acpi.guest_address() + image.size() <= vmm::AcpiTables::kReservedEnd);
  FUZZ_CHECK(checksum_for(image.first(20)) == 0 && checksum_for(image.first(36)) == 0);
  for (const std::uint64_t offset : {vmm::AcpiTables::kRsdtOffset, vmm::AcpiTables::kXsdtOffset,
                                     vmm::AcpiTables::kFadtOffset, vmm::AcpiTables::kDsdtOffset,
                                     vmm::AcpiTables::kMadtOffset}) {
    const std::uint32_t table_length = get_u32(image, offset + 4);
    FUZZ_CHECK(table_length >= 36 && offset + table_length <= image.size());
    FUZZ_CHECK(checksum_for(image.subspan(offset, table_length)) == 0);
  }
  const auto madt = image.subspan(vmm::AcpiTables::kMadtOffset, get_u32(image, vmm::AcpiTables::kMadtOffset + 4));
  unsigned lapics = 0;
  std::set<unsigned> overridden;
  for (std::size_t at = 44; at < madt.size();) {
    FUZZ_CHECK(at + 2 <= madt.size() && madt[at + 1] >= 2 && at + madt[at + 1] <= madt.size());
    if (madt[at] == 0) ++lapics;
    if (madt[at] == 2) FUZZ_CHECK(madt[at + 3] < 16 && overridden.insert(madt[at + 3]).second);
    at += madt[at + 1];
  }
  FUZZ_CHECK(lapics == listed && overridden.count(0) == 1 && overridden.count(9) == 1);
  return 0;
}
