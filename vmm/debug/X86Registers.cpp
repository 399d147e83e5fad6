#include "vmm/debug/X86Registers.h"

#include <bit>
#include <cstring>
#include <span>
#include <type_traits>

namespace vmm::debug {
namespace {

// Registers go on the wire in the host's byte order, which must be GDB's
// little-endian x86 order.
static_assert(std::endian::native == std::endian::little);

enum class Feature { Core, Segments, Sys };

struct RegisterInfo {
  const char* name;
  unsigned bits;
  const char* type;
  const char* group;  // nullptr: GDB's default for the type
  Feature feature;
};

// GDB's amd64 code finds its registers by these names in these features, and
// requires the core ones at the start in this order (i386_validate_tdesc_p);
// the wire numbering is the position in this table.
constexpr RegisterInfo kRegisters[] = {
    {"rax", 64, "int64", nullptr, Feature::Core},
    {"rbx", 64, "int64", nullptr, Feature::Core},
    {"rcx", 64, "int64", nullptr, Feature::Core},
    {"rdx", 64, "int64", nullptr, Feature::Core},
    {"rsi", 64, "int64", nullptr, Feature::Core},
    {"rdi", 64, "int64", nullptr, Feature::Core},
    {"rbp", 64, "data_ptr", nullptr, Feature::Core},
    {"rsp", 64, "data_ptr", nullptr, Feature::Core},
    {"r8", 64, "int64", nullptr, Feature::Core},
    {"r9", 64, "int64", nullptr, Feature::Core},
    {"r10", 64, "int64", nullptr, Feature::Core},
    {"r11", 64, "int64", nullptr, Feature::Core},
    {"r12", 64, "int64", nullptr, Feature::Core},
    {"r13", 64, "int64", nullptr, Feature::Core},
    {"r14", 64, "int64", nullptr, Feature::Core},
    {"r15", 64, "int64", nullptr, Feature::Core},
    {"rip", 64, "code_ptr", nullptr, Feature::Core},
    {"eflags", 32, "i386_eflags", nullptr, Feature::Core},
    {"cs", 32, "int32", nullptr, Feature::Core},
    {"ss", 32, "int32", nullptr, Feature::Core},
    {"ds", 32, "int32", nullptr, Feature::Core},
    {"es", 32, "int32", nullptr, Feature::Core},
    {"fs", 32, "int32", nullptr, Feature::Core},
    {"gs", 32, "int32", nullptr, Feature::Core},
    {"st0", 80, "i387_ext", nullptr, Feature::Core},
    {"st1", 80, "i387_ext", nullptr, Feature::Core},
    {"st2", 80, "i387_ext", nullptr, Feature::Core},
    {"st3", 80, "i387_ext", nullptr, Feature::Core},
    {"st4", 80, "i387_ext", nullptr, Feature::Core},
    {"st5", 80, "i387_ext", nullptr, Feature::Core},
    {"st6", 80, "i387_ext", nullptr, Feature::Core},
    {"st7", 80, "i387_ext", nullptr, Feature::Core},
    {"fctrl", 32, "int32", "float", Feature::Core},
    {"fstat", 32, "int32", "float", Feature::Core},
    {"ftag", 32, "int32", "float", Feature::Core},
    {"fiseg", 32, "int32", "float", Feature::Core},
    {"fioff", 32, "int32", "float", Feature::Core},
    {"foseg", 32, "int32", "float", Feature::Core},
    {"fooff", 32, "int32", "float", Feature::Core},
    {"fop", 32, "int32", "float", Feature::Core},
    {"fs_base", 64, "int64", nullptr, Feature::Segments},
    {"gs_base", 64, "int64", nullptr, Feature::Segments},
    {"cr0", 64, "int64", "system", Feature::Sys},
    {"cr2", 64, "int64", "system", Feature::Sys},
    {"cr3", 64, "int64", "system", Feature::Sys},
    {"cr4", 64, "int64", "system", Feature::Sys},
    {"cr8", 64, "int64", "system", Feature::Sys},
    {"efer", 64, "int64", "system", Feature::Sys},
};
static_assert(std::size(kRegisters) == kRegisterCount);

template <class T>
auto bytes_of(T& value) {
  using Byte = std::conditional_t<std::is_const_v<T>, const std::uint8_t, std::uint8_t>;
  return std::span<Byte>(reinterpret_cast<Byte*>(&value), sizeof(value));
}

// The storage of register `number` inside X86Registers; empty if none.
template <class Registers>
auto field(Registers& r, unsigned number) {
  using Byte = std::conditional_t<std::is_const_v<Registers>, const std::uint8_t, std::uint8_t>;
  if (number < 16) return bytes_of(r.gpr[number]);
  if (number >= 24 && number < 32) return bytes_of(r.st[number - 24]);
  switch (number) {
    case 16: return bytes_of(r.rip);
    case 17: return bytes_of(r.eflags);
    case 18: return bytes_of(r.cs);
    case 19: return bytes_of(r.ss);
    case 20: return bytes_of(r.ds);
    case 21: return bytes_of(r.es);
    case 22: return bytes_of(r.fs);
    case 23: return bytes_of(r.gs);
    case 32: return bytes_of(r.fctrl);
    case 33: return bytes_of(r.fstat);
    case 34: return bytes_of(r.ftag);
    case 35: return bytes_of(r.fiseg);
    case 36: return bytes_of(r.fioff);
    case 37: return bytes_of(r.foseg);
    case 38: return bytes_of(r.fooff);
    case 39: return bytes_of(r.fop);
    case 40: return bytes_of(r.fs_base);
    case 41: return bytes_of(r.gs_base);
    case 42: return bytes_of(r.cr0);
    case 43: return bytes_of(r.cr2);
    case 44: return bytes_of(r.cr3);
    case 45: return bytes_of(r.cr4);
    case 46: return bytes_of(r.cr8);
    case 47: return bytes_of(r.efer);
    default: return std::span<Byte>{};
  }
}

std::size_t total_size() {
  std::size_t total = 0;
  for (unsigned n = 0; n < kRegisterCount; ++n) total += register_size(n);
  return total;
}

// EFLAGS bits as the SDM names them (vol. 1, 3.4.3); the unnamed ones are reserved.
constexpr struct {
  const char* name;
  unsigned bit;
} kEflagsBits[] = {{"CF", 0},  {"PF", 2},  {"AF", 4},  {"ZF", 6},   {"SF", 7},   {"TF", 8},
                   {"IF", 9},  {"DF", 10}, {"OF", 11}, {"NT", 14},  {"RF", 16},  {"VM", 17},
                   {"AC", 18}, {"VIF", 19}, {"VIP", 20}, {"ID", 21}};

std::string build_description() {
  std::string xml =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
      "<target version=\"1.0\">\n"
      "  <architecture>i386:x86-64</architecture>\n";
  const struct {
    Feature feature;
    const char* name;
  } features[] = {{Feature::Core, "org.gnu.gdb.i386.core"},
                  {Feature::Segments, "org.gnu.gdb.i386.segments"},
                  {Feature::Sys, "org.vmm.x86.sys"}};
  for (const auto& [feature, feature_name] : features) {
    xml += "  <feature name=\"" + std::string(feature_name) + "\">\n";
    if (feature == Feature::Core) {
      xml += "    <flags id=\"i386_eflags\" size=\"4\">\n";
      for (const auto& flag : kEflagsBits) {
        const std::string bit = std::to_string(flag.bit);
        xml += "      <field name=\"" + std::string(flag.name) + "\" start=\"" + bit + "\" end=\"" + bit + "\"/>\n";
      }
      xml += "    </flags>\n";
    }
    for (unsigned n = 0; n < kRegisterCount; ++n) {
      const RegisterInfo& reg = kRegisters[n];
      if (reg.feature != feature) continue;
      xml += "    <reg name=\"" + std::string(reg.name) + "\" bitsize=\"" + std::to_string(reg.bits) +
             "\" type=\"" + reg.type + "\" regnum=\"" + std::to_string(n) + "\"";
      if (reg.group) xml += " group=\"" + std::string(reg.group) + "\"";
      xml += "/>\n";
    }
    xml += "  </feature>\n";
  }
  xml += "</target>\n";
  return xml;
}

}  // namespace

unsigned register_size(unsigned number) { return number < kRegisterCount ? kRegisters[number].bits / 8 : 0; }

std::vector<std::uint8_t> encode_registers(const X86Registers& registers) {
  std::vector<std::uint8_t> bytes;
  bytes.reserve(total_size());
  for (unsigned n = 0; n < kRegisterCount; ++n) {
    const auto storage = field(registers, n);
    bytes.insert(bytes.end(), storage.begin(), storage.end());
  }
  return bytes;
}

std::optional<X86Registers> decode_registers(const std::vector<std::uint8_t>& bytes) {
  if (bytes.size() != total_size()) return std::nullopt;
  X86Registers registers;
  std::size_t at = 0;
  for (unsigned n = 0; n < kRegisterCount; ++n) {
    const auto storage = field(registers, n);
    std::memcpy(storage.data(), bytes.data() + at, storage.size());
    at += storage.size();
  }
  return registers;
}

std::vector<std::uint8_t> encode_register(const X86Registers& registers, unsigned number) {
  const auto storage = field(registers, number);
  return {storage.begin(), storage.end()};
}

bool decode_register(X86Registers& registers, unsigned number, const std::vector<std::uint8_t>& bytes) {
  const auto storage = field(registers, number);
  if (storage.empty() || bytes.size() != storage.size()) return false;
  std::memcpy(storage.data(), bytes.data(), storage.size());
  return true;
}

const std::string& target_description_xml() {
  static const std::string xml = build_description();
  return xml;
}

}  // namespace vmm::debug
