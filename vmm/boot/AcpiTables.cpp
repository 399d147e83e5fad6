#include "vmm/boot/AcpiTables.h"

#include <algorithm>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vmm/boot/TableBytes.h"

namespace vmm {

namespace {

using namespace table_bytes;

constexpr std::string_view kOemId = "VMM   ";       // 6 bytes
constexpr std::string_view kOemTableId = "VMMKVM  ";  // 8 bytes
constexpr std::string_view kCreatorId = "VMM ";
constexpr std::uint32_t kOemRevision = 1, kCreatorRevision = 1;
constexpr std::size_t kHeaderChecksumOffset = 9;
constexpr std::size_t kRsdpChecksumOffset = 8, kRsdpChecksummedV1 = 20, kRsdpExtendedChecksumOffset = 32;

// C2 and C3 are unsupported when their latencies exceed 100 and 1000 us.
constexpr std::uint16_t kNoC2Latency = 101, kNoC3Latency = 1001;
constexpr std::uint8_t kSystemIoSpace = 1;
constexpr std::uint8_t kByteAccess = 1;

void header(Writer& out, std::string_view signature, std::uint8_t revision) {
  out.text(signature);
  out.u32(0);  // length, patched by finish()
  out.u8(revision);
  out.u8(0);  // checksum, patched by finish()
  out.text(kOemId);
  out.text(kOemTableId);
  out.u32(kOemRevision);
  out.text(kCreatorId);
  out.u32(kCreatorRevision);
}

std::vector<std::uint8_t> finish(Writer& out) {
  auto& bytes = out.bytes();
  put_u32(bytes, 4, static_cast<std::uint32_t>(bytes.size()));
  bytes[kHeaderChecksumOffset] = checksum_for(bytes);
  return bytes;
}

// A Generic Address Structure (5.2.3.2).
void generic_address(Writer& out, std::uint8_t space, std::uint8_t bit_width, std::uint8_t access_size,
                     std::uint64_t address) {
  out.u8(space);
  out.u8(bit_width);
  out.u8(0);  // bit offset
  out.u8(access_size);
  out.u64(address);
}

std::vector<std::uint8_t> rsdp() {
  Writer out;
  out.text("RSD PTR ");
  out.u8(0);
  out.text(kOemId);
  out.u8(2);  // revision: ACPI 2.0 and later, with the XSDT
  out.u32(static_cast<std::uint32_t>(AcpiTables::kBase + AcpiTables::kRsdtOffset));
  out.u32(AcpiTables::kRsdpBytes);
  out.u64(AcpiTables::kBase + AcpiTables::kXsdtOffset);
  out.u8(0);  // extended checksum
  out.zeros(3);
  auto& bytes = out.bytes();
  bytes[kRsdpChecksumOffset] = checksum_for(std::span(bytes).first(kRsdpChecksummedV1));
  bytes[kRsdpExtendedChecksumOffset] = checksum_for(bytes);
  return bytes;
}

std::vector<std::uint8_t> facs() {
  Writer out;
  out.text("FACS");
  out.u32(AcpiTables::kFacsBytes);
  out.u32(0);  // hardware signature
  out.u32(0);  // firmware waking vector
  out.u32(0);  // global lock
  out.u32(0);  // flags
  out.u64(0);  // X firmware waking vector
  out.u8(2);   // version
  out.zeros(AcpiTables::kFacsBytes - out.size());
  return out.bytes();
}

constexpr std::uint64_t kListedTables[] = {AcpiTables::kFadtOffset, AcpiTables::kMadtOffset};

std::vector<std::uint8_t> rsdt() {
  Writer out;
  header(out, "RSDT", 1);
  for (const std::uint64_t offset : kListedTables) out.u32(static_cast<std::uint32_t>(AcpiTables::kBase + offset));
  return finish(out);
}

std::vector<std::uint8_t> xsdt() {
  Writer out;
  header(out, "XSDT", 1);
  for (const std::uint64_t offset : kListedTables) out.u64(AcpiTables::kBase + offset);
  return finish(out);
}

std::vector<std::uint8_t> madt(const AcpiTablesInput& input) {
  using Entry = AcpiTables::MadtEntry;
  constexpr std::uint8_t kIsaBus = 0, kAllProcessors = 0xff, kNmiLint = 1;
  Writer out;
  header(out, "APIC", 5);
  out.u32(MpTable::kLocalApicAddress);
  out.u32(AcpiTables::kMadtPcatCompat);  // and an 8259 pair, in virtual-wire mode as the MP table says
  for (unsigned cpu = 0; cpu < input.cpus; ++cpu) {
    out.u8(static_cast<std::uint8_t>(Entry::LocalApic));
    out.u8(8);
    out.u8(static_cast<std::uint8_t>(cpu));  // ACPI processor UID
    out.u8(static_cast<std::uint8_t>(cpu));  // APIC id, as KVM numbers them
    out.u32(AcpiTables::kLocalApicEnabled);
  }
  out.u8(static_cast<std::uint8_t>(Entry::IoApic));
  out.u8(12);
  out.u8(input.ioapic_id);
  out.u8(0);  // reserved
  out.u32(MpTable::kIoapicAddress);
  out.u32(0);  // GSI base: ACPI's GSI n is pin n
  for (const auto& [gsi, pin, mp_flags] : input.ioapic_inputs) {
    if (gsi >= MpTable::kIsaIrqs) continue;  // not an ISA IRQ: nothing to override
    const std::uint16_t flags = gsi == input.sci_irq ? AcpiTables::kSciFlags : mp_flags;
    if (pin == gsi && flags == (MpTable::kPolarityConforms | MpTable::kTriggerConforms)) continue;
    out.u8(static_cast<std::uint8_t>(Entry::SourceOverride));
    out.u8(10);
    out.u8(kIsaBus);
    out.u8(static_cast<std::uint8_t>(gsi));  // source: the ISA IRQ
    out.u32(pin);                            // its GSI
    out.u16(flags);                          // MPS INTI flags, as in the MP table
  }
  out.u8(static_cast<std::uint8_t>(Entry::LocalApicNmi));
  out.u8(6);
  out.u8(kAllProcessors);
  out.u16(MpTable::kPolarityConforms | MpTable::kTriggerConforms);
  out.u8(kNmiLint);
  return finish(out);
}

std::vector<std::uint8_t> fadt(const AcpiTablesInput& input) {
  const auto facs_address = static_cast<std::uint32_t>(AcpiTables::kBase + AcpiTables::kFacsOffset);
  const auto dsdt_address = static_cast<std::uint32_t>(AcpiTables::kBase + AcpiTables::kDsdtOffset);
  Writer out;
  header(out, "FACP", 6);
  out.u32(facs_address);
  out.u32(dsdt_address);
  out.u8(0);  // reserved (ACPI 1.0's INT_MODEL)
  out.u8(0);  // preferred PM profile: unspecified
  out.u16(input.sci_irq);
  out.u32(0);  // SMI_CMD: none, so always in ACPI mode
  out.u8(0);   // ACPI_ENABLE
  out.u8(0);   // ACPI_DISABLE
  out.u8(0);   // S4BIOS_REQ
  out.u8(0);   // PSTATE_CNT
  out.u32(input.pm1a_event_port);
  out.u32(0);  // PM1b event block
  out.u32(input.pm1a_control_port);
  out.u32(0);  // PM1b control block
  out.u32(0);  // PM2 control block
  out.u32(0);  // PM timer block: none (optional since ACPI 5.0a)
  out.u32(0);  // GPE0 block
  out.u32(0);  // GPE1 block
  out.u8(4);   // PM1_EVT_LEN
  out.u8(2);   // PM1_CNT_LEN
  out.u8(0);   // PM2_CNT_LEN
  out.u8(0);   // PM_TMR_LEN
  out.u8(0);   // GPE0_BLK_LEN
  out.u8(0);   // GPE1_BLK_LEN
  out.u8(0);   // GPE1_BASE
  out.u8(0);   // CST_CNT
  out.u16(kNoC2Latency);
  out.u16(kNoC3Latency);
  out.u16(0);  // FLUSH_SIZE
  out.u16(0);  // FLUSH_STRIDE
  out.u8(0);   // DUTY_OFFSET
  out.u8(0);   // DUTY_WIDTH
  out.u8(0);   // DAY_ALRM
  out.u8(0);   // MON_ALRM
  out.u8(input.century_register);
  out.u16(AcpiTables::kBootArchLegacyDevices | AcpiTables::kBootArch8042 | AcpiTables::kBootArchNoVga);
  out.u8(0);  // reserved
  out.u32(AcpiTables::kFlagWbinvd | AcpiTables::kFlagProcC1 | AcpiTables::kFlagNoPowerButton |
          AcpiTables::kFlagNoSleepButton | AcpiTables::kFlagResetRegister);
  generic_address(out, kSystemIoSpace, 8, kByteAccess, input.reset_port);
  out.u8(input.reset_value);
  out.u16(0);  // ARM boot flags
  out.u8(5);   // FADT minor version: 6.5
  out.u64(0);  // X_FIRMWARE_CTRL: FIRMWARE_CTRL says it
  out.u64(dsdt_address);
  // X_PM1a_EVT_BLK to X_GPE1_BLK, SLEEP_CONTROL_REG, SLEEP_STATUS_REG: zero,
  // so an OS takes the 32-bit blocks above (and no hardware-reduced sleep).
  out.zeros(10 * 12);
  out.u64(0);  // hypervisor vendor identity
  return finish(out);
}

// AML (chapter 20): Name (\_S5, Package () { SLP_TYPa, SLP_TYPb, 0, 0 }).
std::vector<std::uint8_t> dsdt(const AcpiTablesInput& input) {
  constexpr std::uint8_t kNameOp = 0x08, kPackageOp = 0x12, kBytePrefix = 0x0a, kZeroOp = 0x00;
  const std::vector<std::uint8_t> elements = {kBytePrefix, input.s5_sleep_type, kBytePrefix, input.s5_sleep_type,
                                              kZeroOp, kZeroOp};
  Writer out;
  header(out, "DSDT", 2);
  out.u8(kNameOp);
  out.text("_S5_");
  out.u8(kPackageOp);
  out.u8(static_cast<std::uint8_t>(1 + 1 + elements.size()));  // PkgLength counts itself and NumElements
  out.u8(4);                                                    // NumElements
  out.bytes(elements);
  return finish(out);
}

void place(std::vector<std::uint8_t>& image, std::uint64_t offset, const std::vector<std::uint8_t>& table) {
  std::copy(table.begin(), table.end(), image.begin() + static_cast<std::ptrdiff_t>(offset));
}

}  // namespace

AcpiTables AcpiTables::build(const AcpiTablesInput& input) {
  const auto dsdt_bytes = dsdt(input);
  const auto madt_bytes = madt(input);
  if (kMadtOffset + madt_bytes.size() > kReservedEnd - kBase)
    throw std::invalid_argument("ACPI tables: " + std::to_string(input.cpus) + " CPUs do not fit the MADT's room");
  AcpiTables tables;
  tables.bytes_.assign(kMadtOffset + madt_bytes.size(), 0);
  place(tables.bytes_, 0, rsdp());
  place(tables.bytes_, kFacsOffset, facs());
  place(tables.bytes_, kRsdtOffset, rsdt());
  place(tables.bytes_, kXsdtOffset, xsdt());
  place(tables.bytes_, kFadtOffset, fadt(input));
  place(tables.bytes_, kDsdtOffset, dsdt_bytes);
  place(tables.bytes_, kMadtOffset, madt_bytes);
  return tables;
}

}  // namespace vmm
