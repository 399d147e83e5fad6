#include "vmm/profile/Symbols.h"

#include <elf.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "vmm/Errors.h"

namespace vmm::profile {

namespace {

template <typename T>
T read_at(std::span<const std::uint8_t> image, std::uint64_t offset, const std::string& source, const char* what) {
  if (offset > image.size() || image.size() - offset < sizeof(T))
    throw InputError(source + ": " + what + " lies outside the file");
  T value;
  std::memcpy(&value, image.data() + offset, sizeof value);
  return value;
}

// The same walk for both classes: section headers, the SHT_SYMTAB, and its
// linked string table.
template <typename Ehdr, typename Shdr, typename Sym, unsigned char (*Type)(unsigned char)>
void read_symtab(std::span<const std::uint8_t> image, const std::string& source, auto&& add) {
  const auto header = read_at<Ehdr>(image, 0, source, "the ELF header");
  if (header.e_shoff == 0 || header.e_shnum == 0) return;
  if (header.e_shentsize != sizeof(Shdr)) throw InputError(source + ": unexpected section header size");
  for (unsigned index = 0; index < header.e_shnum; ++index) {
    const auto section = read_at<Shdr>(image, header.e_shoff + std::uint64_t{index} * sizeof(Shdr), source,
                                       "a section header");
    if (section.sh_type != SHT_SYMTAB) continue;
    if (section.sh_link >= header.e_shnum) throw InputError(source + ": the symbol table's string table is missing");
    const auto strings = read_at<Shdr>(image, header.e_shoff + std::uint64_t{section.sh_link} * sizeof(Shdr),
                                       source, "the string table's header");
    if (strings.sh_offset > image.size() || image.size() - strings.sh_offset < strings.sh_size)
      throw InputError(source + ": the string table lies outside the file");
    const std::string_view names(reinterpret_cast<const char*>(image.data() + strings.sh_offset), strings.sh_size);
    if (section.sh_offset > image.size() || image.size() - section.sh_offset < section.sh_size)
      throw InputError(source + ": the symbol table lies outside the file");
    for (std::uint64_t at = 0; at + sizeof(Sym) <= section.sh_size; at += sizeof(Sym)) {
      const auto symbol = read_at<Sym>(image, section.sh_offset + at, source, "a symbol");
      const unsigned type = Type(symbol.st_info);
      if ((type != STT_FUNC && type != STT_NOTYPE) || symbol.st_shndx == SHN_UNDEF || symbol.st_name >= names.size())
        continue;
      std::string_view name = names.substr(symbol.st_name);
      name = name.substr(0, name.find('\0'));
      if (name.empty() || name.starts_with(".L") || name.starts_with("$")) continue;
      add(symbol.st_value, name);
    }
  }
}

unsigned char elf32_type(unsigned char info) { return ELF32_ST_TYPE(info); }
unsigned char elf64_type(unsigned char info) { return ELF64_ST_TYPE(info); }

}  // namespace

Symbols Symbols::from_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw InputError("--profile-symbols " + path.string() + ": cannot be read");
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() >= SELFMAG && std::memcmp(bytes.data(), ELFMAG, SELFMAG) == 0)
    return from_elf(bytes, "--profile-symbols " + path.string());
  Symbols symbols = from_map(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (symbols.size() == 0)
    throw InputError("--profile-symbols " + path.string() +
                     ": neither an ELF file nor a System.map or kallsyms (\"ADDRESS TYPE NAME\" lines)");
  return symbols;
}

Symbols Symbols::from_elf(std::span<const std::uint8_t> image, const std::string& source) {
  Symbols symbols;
  if (image.size() < EI_NIDENT || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0) return symbols;
  auto add = [&](std::uint64_t address, std::string_view name) { symbols.symbols_.push_back({address, std::string(name)}); };
  if (image[EI_CLASS] == ELFCLASS64)
    read_symtab<Elf64_Ehdr, Elf64_Shdr, Elf64_Sym, elf64_type>(image, source, add);
  else if (image[EI_CLASS] == ELFCLASS32)
    read_symtab<Elf32_Ehdr, Elf32_Shdr, Elf32_Sym, elf32_type>(image, source, add);
  symbols.sort();
  return symbols;
}

Symbols Symbols::from_map(std::string_view text) {
  Symbols symbols;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string address, type, name;
    if (!(fields >> address >> type >> name) || type.size() != 1) continue;
    // Text symbols: what RIP can point into.
    if (type != "T" && type != "t" && type != "W" && type != "w") continue;
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(address.data(), address.data() + address.size(), value, 16);
    if (error != std::errc() || end != address.data() + address.size()) continue;
    symbols.symbols_.push_back({value, name});
  }
  symbols.sort();
  return symbols;
}

void Symbols::sort() {
  std::stable_sort(symbols_.begin(), symbols_.end(),
                   [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
}

std::string Symbols::name_of(std::uint64_t address) const {
  auto above = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                                [](std::uint64_t value, const Symbol& symbol) { return value < symbol.address; });
  if (above != symbols_.begin()) {
    const Symbol& below = *std::prev(above);
    if (address - below.address < kMaxDistance) return below.name;
  }
  char hex[24];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(address));
  return hex;
}

}  // namespace vmm::profile
