#pragma once
// Names for guest addresses, for the profiler: from an ELF image's symbol
// table (ELF32 or ELF64: the bundled kernel's Multiboot container is ELF32), or
// from a System.map or /proc/kallsyms text ("ffffffff81000000 T _stext"), which
// is what tools/linux/fetch writes for Debian's kernel. An address is named
// by the nearest symbol at or below it, as `symbol+0x1f` is not: the profile
// counts functions.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vmm::profile {

class Symbols {
 public:
  // No symbols: every address is named by its hex value.
  Symbols() = default;
  // ELF when it starts with the ELF magic, a map otherwise. Throws InputError
  // for a malformed ELF or a file that cannot be read.
  static Symbols from_file(const std::filesystem::path& path);
  // An ELF image's .symtab functions and labels; empty when it has none. Throws
  // InputError when a header or table points outside the image.
  static Symbols from_elf(std::span<const std::uint8_t> image, const std::string& source);
  // "ADDRESS TYPE NAME [module]" lines; lines that are not skipped.
  static Symbols from_map(std::string_view text);

  // "name", or "0xADDRESS" when no symbol lies at or below it (or the
  // nearest one is further than kMaxDistance away: not the same function).
  std::string name_of(std::uint64_t address) const;
  std::size_t size() const { return symbols_.size(); }

  static constexpr std::uint64_t kMaxDistance = 1 << 20;

 private:
  struct Symbol {
    std::uint64_t address;
    std::string name;
  };
  void sort();
  std::vector<Symbol> symbols_;
};

}  // namespace vmm::profile
