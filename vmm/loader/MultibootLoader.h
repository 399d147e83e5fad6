#pragma once
// Multiboot v1 loader (Multiboot Specification 0.6.96): ELF32, ELF64 and a.out-
// kludge images, modules, and the boot information structure with the memory
// map, command line, modules and boot loader name. The image is untrusted: every
// size and address in it is checked, and a bad image is an InputError naming
// what is wrong.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vmm/GuestMemory.h"
#include "vmm/loader/EntryState.h"

namespace vmm {

struct MultibootModule {
  std::vector<std::uint8_t> data;
  std::string cmdline;
};

struct MultibootOptions {
  std::string cmdline;
  std::vector<MultibootModule> modules;
  std::string loader_name = "vmm";
};

// Where things went, for logs and tests.
struct MultibootLayout {
  std::uint64_t kernel_start = 0;
  std::uint64_t kernel_end = 0;
  std::uint64_t info_address = 0;
  std::uint64_t info_end = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> modules;  // [start, end)
};

class MultibootLoader {
 public:
  static constexpr std::uint32_t kHeaderMagic = 0x1BADB002;
  static constexpr std::uint32_t kBootloaderMagic = 0x2BADB002;
  static constexpr std::size_t kHeaderSearchBytes = 8192;

  // True when the image carries the Multiboot v1 magic in its first 8 KiB
  // (whether or not the header's checksum holds).
  static bool recognizes(std::span<const std::uint8_t> image);

  static EntryState load(std::span<const std::uint8_t> image, GuestMemory& memory, const MultibootOptions& options,
                         MultibootLayout* layout = nullptr);
};

}  // namespace vmm
