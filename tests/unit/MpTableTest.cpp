// The MP table read back by a parser of the test's own, compared entry by entry
// with the routing table it was built from, and replayed through the checks
// Linux's arch/x86/kernel/mpparse.c makes before it trusts a table.

#include "vmm/boot/MpTable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <tuple>

#include "vmm/Platform.h"

namespace vmm {
namespace {

constexpr std::uint32_t kSignature = 0x000906ea;  // family 6, model 0x9e, stepping 10
constexpr std::uint32_t kFeatures = 0x178bfbff;
constexpr std::uint64_t kFloating = 0xf0000;

MpTable build(unsigned cpus, const std::vector<InterruptLineSpec>& lines = {}) {
  const GsiRoutingTable routing = InterruptLines::routing_for(lines, platform::device_gsis());
  return MpTable::build({cpus, kSignature, kFeatures, routing, lines});
}

const std::vector<InterruptLineSpec> kLines = {
    {"nic", 5, Trigger::Edge, std::nullopt},     {"lvl", 9, Trigger::Level, std::nullopt},
    {"disk", 17, Trigger::Level, std::nullopt},  {"tick", 18, Trigger::Edge, std::nullopt},
    {"msi", 24, Trigger::Edge, MsiDestination{0, 0x50}}};

// --- an independent reading of the bytes, field by field from the spec's tables ---

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t u32(const std::uint8_t* p) { return u16(p) | static_cast<std::uint32_t>(u16(p + 2)) << 16; }
unsigned sum(const std::uint8_t* p, std::size_t n) {
  unsigned total = 0;
  for (std::size_t i = 0; i < n; ++i) total += p[i];
  return total & 0xff;
}

struct Cpu {
  unsigned apic_id, version, flags;
  std::uint32_t signature, features;
};
struct IoInterrupt {
  unsigned type, flags, bus, irq, ioapic, pin;
};
struct LocalInterrupt {
  unsigned type, flags, bus, irq, lapic, lint;
};
struct Parsed {
  std::vector<std::uint8_t> types;  // in table order
  std::vector<Cpu> cpus;
  std::vector<std::pair<unsigned, std::string>> buses;
  std::vector<std::tuple<unsigned, unsigned, unsigned, std::uint32_t>> ioapics;  // id, version, flags, address
  std::vector<IoInterrupt> intsrc;
  std::vector<LocalInterrupt> lintsrc;
  unsigned header_length = 0, header_entries = 0;
};

Parsed parse(const std::vector<std::uint8_t>& bytes) {
  Parsed parsed;
  const std::uint8_t* table = bytes.data() + 16;
  parsed.header_length = u16(table + 4);
  parsed.header_entries = u16(table + 34);
  for (std::size_t at = 44; at < parsed.header_length;) {
    const std::uint8_t* e = table + at;
    parsed.types.push_back(e[0]);
    switch (e[0]) {
      case 0: parsed.cpus.push_back({e[1], e[2], e[3], u32(e + 4), u32(e + 8)}); at += 20; break;
      case 1: parsed.buses.emplace_back(e[1], std::string(reinterpret_cast<const char*>(e + 2), 6)); at += 8; break;
      case 2: parsed.ioapics.emplace_back(e[1], e[2], e[3], u32(e + 4)); at += 8; break;
      case 3: parsed.intsrc.push_back({e[1], u16(e + 2), e[4], e[5], e[6], e[7]}); at += 8; break;
      case 4: parsed.lintsrc.push_back({e[1], u16(e + 2), e[4], e[5], e[6], e[7]}); at += 8; break;
      default: ADD_FAILURE() << "unknown entry type " << unsigned(e[0]) << " at " << at; return parsed;
    }
  }
  return parsed;
}

TEST(MpTable, FloatingPointerAndHeaderAreAsSpecified) {
  const auto table = build(2, kLines);
  const auto& b = table.bytes();
  EXPECT_EQ(table.guest_address(), kFloating);
  ASSERT_GE(b.size(), 60u);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "_MP_");
  EXPECT_EQ(u32(&b[4]), 0xf0010u);  // the configuration table right after it
  EXPECT_EQ(b[8], 1);               // 16-byte units
  EXPECT_EQ(b[9], 4);               // spec 1.4
  EXPECT_EQ(sum(&b[0], 16), 0u);
  for (int feature = 11; feature < 16; ++feature) EXPECT_EQ(b[feature], 0) << "feature byte " << feature - 10;

  const std::uint8_t* h = &b[16];
  EXPECT_EQ(std::string(h, h + 4), "PCMP");
  EXPECT_EQ(u16(h + 4), b.size() - 16);  // base table length covers the header and every entry
  EXPECT_EQ(h[6], 4);
  EXPECT_EQ(sum(h, u16(h + 4)), 0u);
  EXPECT_EQ(std::string(h + 8, h + 16), "VMM     ");
  EXPECT_EQ(std::string(h + 16, h + 28), "KVM VMM     ");
  EXPECT_EQ(u32(h + 28), 0u);  // OEM table pointer
  EXPECT_EQ(u16(h + 32), 0u);  // OEM table size
  EXPECT_EQ(u32(h + 36), 0xfee00000u);
  EXPECT_EQ(u16(h + 40), 0u);  // extended table length
  EXPECT_EQ(h[42], 0);         // extended table checksum
  const Parsed parsed = parse(b);
  EXPECT_EQ(parsed.header_entries, parsed.types.size());
}

TEST(MpTable, EntriesComeInTheOrderTheSpecRequires) {
  const Parsed parsed = parse(build(4, kLines).bytes());
  EXPECT_TRUE(std::is_sorted(parsed.types.begin(), parsed.types.end()));
  ASSERT_EQ(parsed.buses.size(), 1u);
  EXPECT_EQ(parsed.buses[0], (std::pair<unsigned, std::string>{0, "ISA   "}));
}

TEST(MpTable, OneProcessorPerVcpuWithTheBootProcessorFirst) {
  for (const unsigned cpus : {1u, 2u, 16u, 64u}) {
    SCOPED_TRACE(cpus);
    const auto table = build(cpus, kLines);
    const Parsed parsed = parse(table.bytes());
    ASSERT_EQ(parsed.cpus.size(), cpus);
    for (unsigned i = 0; i < cpus; ++i) {
      EXPECT_EQ(parsed.cpus[i].apic_id, i);
      EXPECT_EQ(parsed.cpus[i].version, 0x14u);
      EXPECT_EQ(parsed.cpus[i].flags, i == 0 ? 0x3u : 0x1u);  // EN everywhere, BP on vCPU 0 alone
      EXPECT_EQ(parsed.cpus[i].signature, kSignature);
      EXPECT_EQ(parsed.cpus[i].features, kFeatures);
    }
    ASSERT_EQ(parsed.ioapics.size(), 1u);
    EXPECT_EQ(parsed.ioapics[0], std::make_tuple(cpus, 0x11u, 1u, 0xfec00000u));  // the first id after the CPUs'
    EXPECT_EQ(table.ioapic_id(), cpus);
    for (const auto& entry : parsed.intsrc) EXPECT_EQ(entry.ioapic, cpus);
    EXPECT_LE(table.bytes().size(), 0x10000u);
  }
}

TEST(MpTable, RejectsCpuCountsItCannotNumber) {
  EXPECT_THROW(build(0), std::invalid_argument);
  EXPECT_THROW(build(MpTable::kMaxCpus + 1), std::invalid_argument);
  EXPECT_NO_THROW(build(MpTable::kMaxCpus));
}

// Every IOAPIC route of an ISA IRQ has exactly one entry, with the route's pin;
// nothing else reaches the IOAPIC's first 16 pins.
TEST(MpTable, EveryIsaIrqRoutedToTheIoapicHasExactlyOneEntry) {
  const std::vector<InterruptLineSpec> lines;
  const GsiRoutingTable routing = InterruptLines::routing_for(lines, platform::device_gsis());
  const Parsed parsed = parse(MpTable::build({2, kSignature, kFeatures, routing, lines}).bytes());
  unsigned isa_routes = 0;
  for (const auto& route : routing.routes()) {
    const auto* pin = std::get_if<IrqchipPin>(&route.target);
    if (!pin || pin->chip != Irqchip::Ioapic || route.gsi >= 16) continue;
    ++isa_routes;
    SCOPED_TRACE(route.gsi);
    const auto matches = std::count_if(parsed.intsrc.begin(), parsed.intsrc.end(),
                                       [&](const IoInterrupt& e) { return e.irq == route.gsi; });
    ASSERT_EQ(matches, 1);
    const auto& entry = *std::find_if(parsed.intsrc.begin(), parsed.intsrc.end(),
                                      [&](const IoInterrupt& e) { return e.irq == route.gsi; });
    EXPECT_EQ(entry.pin, pin->pin);
    EXPECT_EQ(entry.type, 0u);   // INT
    EXPECT_EQ(entry.bus, 0u);    // ISA
    EXPECT_EQ(entry.flags, 0u);  // conforms to the bus: edge, active high
  }
  EXPECT_EQ(isa_routes, 15u);
  EXPECT_EQ(parsed.intsrc.size(), 15u);  // and no IOAPIC-only pin without a line on it
}

TEST(MpTable, TheTimerIsOnPin2AndTheCascadeHasNoEntry) {
  const Parsed parsed = parse(build(1).bytes());
  ASSERT_FALSE(parsed.intsrc.empty());
  EXPECT_EQ(parsed.intsrc[0].irq, 0u);
  EXPECT_EQ(parsed.intsrc[0].pin, 2u);
  for (const auto& entry : parsed.intsrc) {
    EXPECT_NE(entry.irq, 2u);
    if (entry.irq != 0) {
      EXPECT_NE(entry.pin, 2u);
    }
  }
}

TEST(MpTable, ScriptedLinesCarryTheirTriggerAndMsiLinesHaveNoEntry) {
  const Parsed parsed = parse(build(2, kLines).bytes());
  struct Case {
    std::uint32_t gsi;
    int entries;
    unsigned flags;
  };
  const Case cases[] = {
      {5, 1, 0x0},     // an edge line on an ISA IRQ conforms to the bus
      {9, 1, 0xd},     // a level line on an ISA IRQ: level, active high (0b11 << 2 | 0b01)
      {17, 1, 0xd},    // IOAPIC-only pin, level, active high
      {18, 1, 0x5},    // IOAPIC-only pin, edge, active high
      {16, 0, 0},      // pins no line drives have no entry
      {19, 0, 0},      {23, 0, 0},
      {24, 0, 0},      // MSI goes straight to a LAPIC
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.gsi);
    std::vector<IoInterrupt> found;
    for (const auto& entry : parsed.intsrc)
      if (entry.irq == c.gsi) found.push_back(entry);
    ASSERT_EQ(found.size(), static_cast<std::size_t>(c.entries));
    if (c.entries == 0) continue;
    EXPECT_EQ(found[0].flags, c.flags);
    EXPECT_EQ(found[0].pin, c.gsi);
    EXPECT_EQ(found[0].bus, 0u);
  }
  EXPECT_EQ(parsed.intsrc.size(), 15u + 2);
  // The ISA entries come first, each part in GSI order.
  for (std::size_t i = 1; i < parsed.intsrc.size(); ++i) EXPECT_LT(parsed.intsrc[i - 1].irq, parsed.intsrc[i].irq);
}

TEST(MpTable, Lint0IsExtIntAndLint1IsNmiOnEveryCpu) {
  const Parsed parsed = parse(build(4).bytes());
  ASSERT_EQ(parsed.lintsrc.size(), 2u);
  EXPECT_EQ(parsed.lintsrc[0].type, 3u);  // ExtINT
  EXPECT_EQ(parsed.lintsrc[0].lint, 0u);
  EXPECT_EQ(parsed.lintsrc[1].type, 1u);  // NMI
  EXPECT_EQ(parsed.lintsrc[1].lint, 1u);
  for (const auto& entry : parsed.lintsrc) {
    EXPECT_EQ(entry.lapic, 0xffu);
    EXPECT_EQ(entry.flags, 0u);
    EXPECT_EQ(entry.bus, 0u);
    EXPECT_EQ(entry.irq, 0u);
  }
}

TEST(MpTable, FormatDecodesEveryEntry) {
  const std::string text = build(2, kLines).format();
  for (const char* expected :
       {"floating-pointer address=0xf0000 table=0xf0010 spec=1.4 mode=virtual-wire\n",
        "table address=0xf0010 length=", " oem=\"VMM\" product=\"KVM VMM\" lapic=0xfee00000\n",
        "cpu apic=0 version=0x14 flags=en,bp signature=0x000906ea features=0x178bfbff\n",
        "cpu apic=1 version=0x14 flags=en signature=", "bus id=0 type=ISA\n",
        "ioapic id=2 version=0x11 address=0xfec00000\n",
        "intsrc type=int bus=0 irq=0 -> ioapic 2 pin 2 flags=conforms\n",
        "intsrc type=int bus=0 irq=17 -> ioapic 2 pin 17 flags=active-high,level\n",
        "intsrc type=int bus=0 irq=18 -> ioapic 2 pin 18 flags=active-high,edge\n",
        "lintsrc type=extint -> lapic all lint0\n", "lintsrc type=nmi -> lapic all lint1\n"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\nin:\n" << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2 + 2 + 1 + 1 + 17 + 2);
}

// --- Linux's checks, replayed (arch/x86/kernel/mpparse.c) ---
//
// default_find_smp_config() scans the first KiB, the last KiB of base memory and
// the BIOS area for the floating pointer (smp_scan_config: "_MP_", length 1, a
// zero checksum, spec 1 or 4, on 16-byte boundaries); default_get_smp_config()
// takes the configuration table when feature byte 1 is 0 and physptr is set;
// smp_check_mpc() wants "PCMP", a zero checksum over `length`, spec 1 or 4 and a
// LAPIC address; smp_read_mpc() walks the entries by their type's size until
// `length`. Two checks are stricter than Linux: an unknown type (Linux dumps
// "Your mptable is wrong" and stops walking) and a walk that does not end
// exactly at `length` (Linux would read past it) fail here.
class LinuxMpParse {
 public:
  explicit LinuxMpParse(const std::vector<std::uint8_t>& table) : memory_(0x100000, 0) {
    if (!table.empty()) std::memcpy(memory_.data() + kFloating, table.data(), table.size());
  }
  std::vector<std::uint8_t>& memory() { return memory_; }

  struct Result {
    bool found = false;
    std::uint64_t floating = 0;
    bool table_ok = false;
    unsigned processors = 0, buses = 0, ioapics = 0, irq_entries = 0, lint_entries = 0;
    std::uint32_t lapic = 0;
  };

  Result run() {
    Result result;
    if (!smp_scan_config(0x0, 0x400, result) && !smp_scan_config(639 * 0x400, 0x400, result) &&
        !smp_scan_config(0xf0000, 0x10000, result))
      return result;
    const std::uint8_t* mpf = &memory_[result.floating];
    if (mpf[11] != 0) return result;  // feature1: a default configuration, no table to read
    const std::uint32_t physptr = u32(mpf + 4);
    if (physptr == 0) return result;  // Linux: BUG()
    result.table_ok = smp_read_mpc(physptr, result);
    return result;
  }

 private:
  bool smp_scan_config(std::uint64_t base, std::uint64_t length, Result& result) {
    constexpr std::uint32_t kSmpMagicIdent = '_' | 'M' << 8 | 'P' << 16 | '_' << 24;
    for (; length > 0; base += 16, length -= 16) {
      const std::uint8_t* mpf = &memory_[base];
      if (u32(mpf) == kSmpMagicIdent && mpf[8] == 1 && sum(mpf, 16) == 0 && (mpf[9] == 1 || mpf[9] == 4)) {
        result.found = true;
        result.floating = base;
        return true;
      }
    }
    return false;
  }

  bool smp_check_mpc(const std::uint8_t* mpc) {
    if (std::memcmp(mpc, "PCMP", 4) != 0) return false;
    if (sum(mpc, u16(mpc + 4)) != 0) return false;
    if (mpc[6] != 0x01 && mpc[6] != 0x04) return false;
    if (u32(mpc + 36) == 0) return false;
    return true;
  }

  bool smp_read_mpc(std::uint32_t physptr, Result& result) {
    if (physptr + 44 > memory_.size()) return false;
    const std::uint8_t* mpc = &memory_[physptr];
    if (physptr + u16(mpc + 4) > memory_.size()) return false;
    if (!smp_check_mpc(mpc)) return false;
    result.lapic = u32(mpc + 36);
    const unsigned length = u16(mpc + 4);
    unsigned count = 44;
    while (count < length) {
      const std::uint8_t* mpt = mpc + count;
      switch (mpt[0]) {
        case 0:  // MP_PROCESSOR: MP_processor_info() skips disabled CPUs
          if (mpt[3] & 1) ++result.processors;
          count += 20;
          break;
        case 1:  // MP_BUS: MP_bus_info()
          ++result.buses;
          count += 8;
          break;
        case 2:  // MP_IOAPIC: MP_ioapic_info() registers usable ones
          if (mpt[3] & 1) ++result.ioapics;
          count += 8;
          break;
        case 3:  // MP_INTSRC: mp_save_irq()
          ++result.irq_entries;
          count += 8;
          break;
        case 4:  // MP_LINTSRC: MP_lintsrc_info()
          ++result.lint_entries;
          count += 8;
          break;
        default: return false;  // "Your mptable is wrong, contact your HW vendor!"
      }
    }
    return count == length && result.processors > 0;  // "MPTABLE: no processors registered!"
  }

  std::vector<std::uint8_t> memory_;
};

TEST(MpTableLinuxReplay, LinuxFindsAndAcceptsTheTable) {
  for (const unsigned cpus : {1u, 2u, 16u, 64u}) {
    SCOPED_TRACE(cpus);
    LinuxMpParse linux_parse(build(cpus, kLines).bytes());
    const auto result = linux_parse.run();
    EXPECT_TRUE(result.found);
    EXPECT_EQ(result.floating, kFloating);
    EXPECT_TRUE(result.table_ok);
    EXPECT_EQ(result.processors, cpus);
    EXPECT_EQ(result.buses, 1u);
    EXPECT_EQ(result.ioapics, 1u);
    EXPECT_EQ(result.irq_entries, 17u);  // not 0: else Linux falls back to a default ISA table
    EXPECT_EQ(result.lint_entries, 2u);
    EXPECT_EQ(result.lapic, 0xfee00000u);
  }
}

// Damage one thing at a time; each must make Linux refuse the table or not
// find it at all.
TEST(MpTableLinuxReplay, DamagedTablesAreRefused) {
  const auto table = build(2, kLines).bytes();
  const std::size_t h = 16;  // the configuration table's offset in `table`
  const std::size_t length = u16(&table[h + 4]);
  auto fix_table_checksum = [&](std::vector<std::uint8_t>& bytes) {
    bytes[h + 7] = 0;
    bytes[h + 7] = static_cast<std::uint8_t>(-sum(&bytes[h], u16(&bytes[h + 4])));
  };
  auto fix_floating_checksum = [](std::vector<std::uint8_t>& bytes) {
    bytes[10] = 0;
    bytes[10] = static_cast<std::uint8_t>(-sum(&bytes[0], 16));
  };
  struct Case {
    const char* what;
    std::function<void(std::vector<std::uint8_t>&)> damage;
    bool found;  // the floating pointer is still found; the table is refused
  };
  const Case cases[] = {
      {"floating pointer byte flipped", [](auto& b) { b[6] ^= 0x01; }, false},
      {"floating pointer signature", [&](auto& b) { b[1] = 'X'; fix_floating_checksum(b); }, false},
      {"floating pointer length 2", [&](auto& b) { b[8] = 2; fix_floating_checksum(b); }, false},
      {"floating pointer spec 1.2", [&](auto& b) { b[9] = 2; fix_floating_checksum(b); }, false},
      {"table byte flipped", [&](auto& b) { b[h + 50] ^= 0x40; }, true},
      {"table signature", [&](auto& b) { b[h] = 'X'; fix_table_checksum(b); }, true},
      {"table spec 1.2", [&](auto& b) { b[h + 6] = 2; fix_table_checksum(b); }, true},
      {"null local APIC address", [&](auto& b) { std::memset(&b[h + 36], 0, 4); fix_table_checksum(b); }, true},
      {"length short by 4", [&](auto& b) {
         b[h + 4] = static_cast<std::uint8_t>(length - 4);
         fix_table_checksum(b);
       }, true},
      {"length 8 too long", [&](auto& b) {
         b.resize(b.size() + 8, 0);
         b[h + 4] = static_cast<std::uint8_t>(length + 8);
         b[h + 5] = static_cast<std::uint8_t>((length + 8) >> 8);
         // zeros: a disabled processor's 20 bytes, which walk past the new length
         fix_table_checksum(b);
       }, true},
      {"unknown entry type", [&](auto& b) { b[h + 44 + 2 * 20] = 7; fix_table_checksum(b); }, true},
      {"no enabled processor", [&](auto& b) {
         b[h + 44 + 3] = 0;
         b[h + 44 + 20 + 3] = 0;
         fix_table_checksum(b);
       }, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto damaged = table;
    c.damage(damaged);
    LinuxMpParse linux_parse(damaged);
    const auto result = linux_parse.run();
    EXPECT_EQ(result.found, c.found);
    EXPECT_FALSE(result.table_ok);
  }
}

TEST(MpTableLinuxReplay, NoTableMeansNoneFound) {
  LinuxMpParse linux_parse({});
  EXPECT_FALSE(linux_parse.run().found);
}

}  // namespace
}  // namespace vmm
