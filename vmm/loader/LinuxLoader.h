#pragma once
// The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), entered at 64
// bits as its "64-bit Boot Protocol" section says, for two image formats:
//  - a bzImage (protocol 2.06 or later): its setup header is copied into the
//    zero page, the protected-mode kernel goes to its preferred address, and
//    the vCPU starts at that address + 0x200 (startup_64 of the decompressor);
//  - an uncompressed vmlinux (ELF64 x86-64): its segments go to their physical
//    addresses and the vCPU starts at e_entry (the kernel's startup_64), with
//    a zero page vmm fills in itself, as Firecracker does.
// Both get the command line, an initrd below initrd_addr_max, the e820 map of
// guest RAM and vmm's page tables and GDT. The image is untrusted: every field
// read from it is checked against the image and guest memory, and a bad one
// is an InputError ("kernel image: ...").

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/GuestMemory.h"
#include "vmm/loader/EntryState.h"

namespace vmm {

struct LinuxBootOptions {
  std::string cmdline{};
  std::vector<std::uint8_t> initrd{};  // empty: none
  std::uint64_t acpi_rsdp = 0;         // boot_params.acpi_rsdp_addr (protocol 2.14); 0: none, the kernel scans
};

// Where things went, for logs and tests.
struct LinuxBootLayout {
  std::uint16_t protocol = 0;  // the bzImage's setup header version; what vmm fills in for a vmlinux
  std::uint64_t kernel_start = 0, kernel_end = 0;  // end includes init_size for a bzImage
  std::uint64_t boot_params = 0;
  std::uint64_t cmdline = 0;
  std::uint64_t initrd_start = 0, initrd_end = 0;
  std::size_t e820_entries = 0;
};

class LinuxLoader {
 public:
  enum class Format { BzImage, Vmlinux };
  static constexpr std::uint64_t kBootParamsAddress = 0x7000;
  static constexpr std::uint64_t kCmdlineAddress = 0x20000;
  static constexpr std::uint16_t kMinProtocol = 0x206;

  // By magic only ("HdrS" in a setup header, or an ELF64 x86-64 file);
  // load() checks the rest.
  static std::optional<Format> recognize(std::span<const std::uint8_t> image);
  static const char* name(Format format);

  static EntryState load(std::span<const std::uint8_t> image, GuestMemory& memory, const LinuxBootOptions& options,
                         LinuxBootLayout* layout = nullptr);
};

}  // namespace vmm
