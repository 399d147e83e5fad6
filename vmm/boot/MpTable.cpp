#include "vmm/boot/MpTable.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string_view>

#include "vmm/Hex.h"
#include "vmm/boot/TableBytes.h"

namespace vmm {

namespace {

using namespace table_bytes;

constexpr std::string_view kFloatingPointerSignature = "_MP_";
constexpr std::string_view kTableSignature = "PCMP";
constexpr std::string_view kOemId = "VMM     ";          // 8 bytes, space padded (spec 4.2)
constexpr std::string_view kProductId = "KVM VMM     ";  // 12 bytes
constexpr std::string_view kIsaBusType = "ISA   ";       // 6 bytes (table 4-8)
constexpr std::uint8_t kSpecRevision = 4;                 // 1.4
constexpr std::uint8_t kIsaBusId = 0;

// Offsets of the checksummed fields.
constexpr std::size_t kFloatingChecksumOffset = 10;
constexpr std::size_t kTableLengthOffset = 4;
constexpr std::size_t kTableChecksumOffset = 7;
constexpr std::size_t kTableEntryCountOffset = 34;

const InterruptLineSpec* line_on(const std::vector<InterruptLineSpec>& lines, std::uint32_t gsi) {
  for (const auto& line : lines)
    if (line.gsi == gsi && !line.msi) return &line;
  return nullptr;
}

// An ISA IRQ conforms to its bus (edge, active high) unless a scripted level
// line sits on it; an IOAPIC-only pin has no bus convention to conform to, so
// its entry always says what the line is. Active high either way: KVM's irqfd
// asserts a line by raising it.
std::uint16_t interrupt_flags(std::uint32_t gsi, const InterruptLineSpec* line) {
  const bool level = line && line->trigger == Trigger::Level;
  if (gsi < MpTable::kIsaIrqs && !level) return MpTable::kPolarityConforms | MpTable::kTriggerConforms;
  return MpTable::kPolarityActiveHigh | (level ? MpTable::kTriggerLevel : MpTable::kTriggerEdge);
}

std::string trimmed(std::span<const std::uint8_t> bytes, std::size_t offset, std::size_t length) {
  std::string text(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                   bytes.begin() + static_cast<std::ptrdiff_t>(offset + length));
  text.erase(text.find_last_not_of(' ') + 1);
  return text;
}

std::string interrupt_type_name(std::uint8_t type) {
  switch (static_cast<MpTable::InterruptType>(type)) {
    case MpTable::InterruptType::Int: return "int";
    case MpTable::InterruptType::Nmi: return "nmi";
    case MpTable::InterruptType::Smi: return "smi";
    case MpTable::InterruptType::ExtInt: return "extint";
  }
  return "type" + std::to_string(type);
}

std::string flags_name(std::uint16_t flags) {
  if (flags == 0) return "conforms";
  static const char* const kPolarity[] = {"conforms", "active-high", "reserved", "active-low"};
  static const char* const kTrigger[] = {"conforms", "edge", "reserved", "level"};
  return std::string(kPolarity[flags & 3]) + "," + kTrigger[(flags >> 2) & 3];
}

}  // namespace

std::vector<MpTable::IoapicInput> MpTable::ioapic_inputs(const GsiRoutingTable& routing,
                                                        const std::vector<InterruptLineSpec>& lines) {
  // MSI routes bypass the IOAPIC and have no entry.
  std::vector<IoapicInput> inputs;
  for (const auto& route : routing.routes()) {
    const auto* pin = std::get_if<IrqchipPin>(&route.target);
    if (!pin || pin->chip != Irqchip::Ioapic) continue;
    const InterruptLineSpec* line = line_on(lines, route.gsi);
    if (route.gsi >= MpTable::kIsaIrqs && !line) continue;  // an IOAPIC-only pin nothing drives
    inputs.push_back({route.gsi, pin->pin, interrupt_flags(route.gsi, line)});
  }
  std::stable_sort(inputs.begin(), inputs.end(),
                   [](const IoapicInput& a, const IoapicInput& b) { return std::pair(a.gsi, a.pin) < std::pair(b.gsi, b.pin); });
  return inputs;
}

MpTable MpTable::build(const MpTableInput& input) {
  if (input.cpus == 0 || input.cpus > kMaxCpus)
    throw std::invalid_argument("MP table: " + std::to_string(input.cpus) + " CPUs; it holds 1 to " +
                                std::to_string(kMaxCpus));
  MpTable table;
  // The first APIC id after the CPUs', as SeaBIOS numbers its I/O APIC.
  table.ioapic_id_ = static_cast<std::uint8_t>(input.cpus);

  Writer entries;
  std::uint16_t count = 0;
  for (unsigned cpu = 0; cpu < input.cpus; ++cpu, ++count) {
    entries.u8(static_cast<std::uint8_t>(EntryType::Processor));
    entries.u8(static_cast<std::uint8_t>(cpu));  // local APIC id = vCPU index, as KVM numbers them
    entries.u8(kLocalApicVersion);
    entries.u8(kCpuEnabled | (cpu == 0 ? kCpuBootProcessor : 0));
    entries.u32(input.cpu_signature);
    entries.u32(input.cpu_features);
    entries.zeros(8);  // reserved
  }

  entries.u8(static_cast<std::uint8_t>(EntryType::Bus));
  entries.u8(kIsaBusId);
  entries.text(kIsaBusType);
  ++count;

  entries.u8(static_cast<std::uint8_t>(EntryType::IoApic));
  entries.u8(table.ioapic_id_);
  entries.u8(kIoapicVersion);
  entries.u8(kIoapicEnabled);
  entries.u32(kIoapicAddress);
  ++count;

  for (const auto& [gsi, pin, flags] : ioapic_inputs(input.routing, input.lines)) {
    if (gsi > 0xff) throw std::invalid_argument("MP table: GSI " + std::to_string(gsi) + " on an IOAPIC pin does not fit a source bus IRQ");
    entries.u8(static_cast<std::uint8_t>(EntryType::IoInterrupt));
    entries.u8(static_cast<std::uint8_t>(InterruptType::Int));
    entries.u16(flags);
    entries.u8(kIsaBusId);
    entries.u8(static_cast<std::uint8_t>(gsi));
    entries.u8(table.ioapic_id_);
    entries.u8(static_cast<std::uint8_t>(pin));
    ++count;
  }

  // LINT0 takes the 8259 as ExtINT and LINT1 is NMI on every CPU: what the
  // machine programs into each LAPIC's LVT, and what a PC BIOS leaves.
  const std::pair<InterruptType, std::uint8_t> local[] = {{InterruptType::ExtInt, 0}, {InterruptType::Nmi, 1}};
  for (const auto& [type, lint] : local) {
    entries.u8(static_cast<std::uint8_t>(EntryType::LocalInterrupt));
    entries.u8(static_cast<std::uint8_t>(type));
    entries.u16(kPolarityConforms | kTriggerConforms);
    entries.u8(kIsaBusId);
    entries.u8(0);  // source bus IRQ
    entries.u8(kAllLocalApics);
    entries.u8(lint);
    ++count;
  }

  Writer header;
  header.text(kTableSignature);
  header.u16(0);  // base table length, below
  header.u8(kSpecRevision);
  header.u8(0);  // checksum, below
  header.text(kOemId);
  header.text(kProductId);
  header.u32(0);  // OEM table pointer
  header.u16(0);  // OEM table size
  header.u16(0);  // entry count, below
  header.u32(kLocalApicAddress);
  header.u16(0);  // extended table length
  header.u8(0);   // extended table checksum
  header.u8(0);   // reserved
  std::vector<std::uint8_t>& config = header.bytes();
  config.insert(config.end(), entries.bytes().begin(), entries.bytes().end());
  put_u16(config, kTableLengthOffset, static_cast<std::uint16_t>(config.size()));
  put_u16(config, kTableEntryCountOffset, count);
  config[kTableChecksumOffset] = checksum_for(config);

  Writer floating;
  floating.text(kFloatingPointerSignature);
  floating.u32(static_cast<std::uint32_t>(kConfigTableAddress));
  floating.u8(1);  // length in 16-byte paragraphs
  floating.u8(kSpecRevision);
  floating.u8(0);     // checksum, below
  floating.u8(0);     // feature byte 1: 0 = a configuration table is present
  floating.u8(0);     // feature byte 2: bit 7 (IMCRP) clear = virtual-wire mode
  floating.zeros(3);  // feature bytes 3-5, reserved
  std::vector<std::uint8_t>& pointer = floating.bytes();
  pointer[kFloatingChecksumOffset] = checksum_for(pointer);

  static_assert(kConfigTableAddress == kFloatingPointerAddress + kFloatingPointerBytes);
  // The largest table: kMaxCpus processors, the bus, the IOAPIC, 15 ISA and 8
  // IOAPIC-only interrupt entries, two local ones.
  static_assert(kFloatingPointerAddress + kFloatingPointerBytes + kHeaderBytes + kMaxCpus * kProcessorEntryBytes +
                    (1 + 1 + 15 + 8 + 2) * kOtherEntryBytes <= kReservedEnd);
  table.bytes_ = std::move(pointer);
  table.bytes_.insert(table.bytes_.end(), config.begin(), config.end());
  if (kFloatingPointerAddress + table.bytes_.size() > kReservedEnd)
    throw std::invalid_argument("MP table: " + std::to_string(table.bytes_.size()) + " bytes do not fit the space vmm keeps for it");
  return table;
}

std::string MpTable::format() const {
  const std::span<const std::uint8_t> bytes(bytes_);
  std::string text;
  auto line = [&](const std::string& content) { text += content + "\n"; };
  if (bytes.size() < kFloatingPointerBytes + kHeaderBytes) return text;
  const std::uint8_t revision = bytes[9];
  line("floating-pointer address=" + hex(kFloatingPointerAddress) + " table=" + hex(get_u32(bytes, 4)) +
       " spec=1." + std::to_string(revision) + " mode=" + ((bytes[12] & 0x80) ? "imcr" : "virtual-wire"));

  const auto config = bytes.subspan(kFloatingPointerBytes);
  const std::size_t length = std::min<std::size_t>(get_u16(config, kTableLengthOffset), config.size());
  line("table address=" + hex(kConfigTableAddress) + " length=" + std::to_string(length) +
       " entries=" + std::to_string(get_u16(config, kTableEntryCountOffset)) + " oem=\"" + trimmed(config, 8, 8) +
       "\" product=\"" + trimmed(config, 16, 12) + "\" lapic=" + hex(get_u32(config, 36)));

  for (std::size_t at = kHeaderBytes; at < length;) {
    const auto type = static_cast<EntryType>(config[at]);
    const std::size_t size = type == EntryType::Processor ? kProcessorEntryBytes : kOtherEntryBytes;
    if (at + size > length) break;
    const auto entry = config.subspan(at, size);
    switch (type) {
      case EntryType::Processor: {
        std::string flags = (entry[3] & kCpuEnabled) ? "en" : "disabled";
        if (entry[3] & kCpuBootProcessor) flags += ",bp";
        line("cpu apic=" + std::to_string(entry[1]) + " version=" + hex(entry[2], 2) + " flags=" + flags +
             " signature=" + hex(get_u32(entry, 4), 8) + " features=" + hex(get_u32(entry, 8), 8));
        break;
      }
      case EntryType::Bus: line("bus id=" + std::to_string(entry[1]) + " type=" + trimmed(entry, 2, 6)); break;
      case EntryType::IoApic:
        line("ioapic id=" + std::to_string(entry[1]) + " version=" + hex(entry[2], 2) +
             " address=" + hex(get_u32(entry, 4), 8));
        break;
      case EntryType::IoInterrupt:
        line("intsrc type=" + interrupt_type_name(entry[1]) + " bus=" + std::to_string(entry[4]) +
             " irq=" + std::to_string(entry[5]) + " -> ioapic " + std::to_string(entry[6]) + " pin " +
             std::to_string(entry[7]) + " flags=" + flags_name(get_u16(entry, 2)));
        break;
      case EntryType::LocalInterrupt:
        line("lintsrc type=" + interrupt_type_name(entry[1]) + " -> lapic " +
             (entry[6] == kAllLocalApics ? std::string("all") : std::to_string(entry[6])) + " lint" +
             std::to_string(entry[7]));
        break;
      default: line("unknown entry type " + std::to_string(config[at])); return text;
    }
    at += size;
  }
  return text;
}

}  // namespace vmm
