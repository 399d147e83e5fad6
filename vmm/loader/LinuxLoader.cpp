#include "vmm/loader/LinuxLoader.h"

#include <asm/bootparam.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "vmm/Errors.h"
#include "vmm/loader/ImageError.h"
#include "vmm/loader/ElfImage.h"
#include "vmm/loader/LongModeEntry.h"
#include "vmm/loader/MemoryMap.h"

namespace vmm {

namespace {

constexpr std::size_t kSetupHeaderOffset = 0x1f1;
constexpr std::size_t kSetupHeaderMagicOffset = 0x202;  // "HdrS"
constexpr std::uint32_t kSetupHeaderMagic = 0x53726448;
constexpr std::uint16_t kBootFlag = 0xaa55;
constexpr std::uint8_t kLoaderUndefined = 0xff;  // type_of_loader: a boot loader without an assigned id
constexpr std::uint64_t kSectorBytes = 512;
constexpr std::uint64_t k64BitEntryOffset = 0x200;
constexpr std::uint64_t kPageSize = 4096;
constexpr std::uint64_t k4GiB = 1ull << 32;
// What the zero page of a vmlinux says, since the image has no setup header:
// protocol 2.12, the first with the 64-bit fields vmm fills in (ext_*), and the
// limits of x86-64 Linux (COMMAND_LINE_SIZE, initrd anywhere below 2 GiB).
constexpr std::uint16_t kVmlinuxProtocol = 0x20c;
constexpr std::uint32_t kVmlinuxCmdlineSize = 2048;
constexpr std::uint32_t kVmlinuxInitrdAddrMax = 0x7fffffff;

using loader::bad_image;
using loader::hex;

std::string protocol_text(std::uint16_t version) {
  return std::to_string(version >> 8) + "." + std::to_string(version & 0xff);
}

std::string mib(std::uint64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// The protected-mode part of a bzImage, and where it goes.
struct KernelPlacement {
  std::uint64_t file_offset = 0, file_size = 0;
  std::uint64_t address = 0;
  std::uint64_t extent = 0;  // bytes from `address` the kernel may use before it reads the e820 map
  std::uint64_t entry = 0;
};

KernelPlacement place_bzimage(std::span<const std::uint8_t> image, boot_params& params) {
  setup_header& hdr = params.hdr;
  // The header runs from 0x1f1 to 0x202 + the jump's offset byte at 0x201;
  // fields past what this image's header holds stay zero.
  const std::size_t header_end = std::min<std::size_t>(kSetupHeaderMagicOffset + image[0x201],
                                                       kSetupHeaderOffset + sizeof(setup_header));
  if (header_end > image.size()) bad_image("setup header is truncated");
  std::memcpy(&hdr, image.data() + kSetupHeaderOffset, header_end - kSetupHeaderOffset);

  if (hdr.version < LinuxLoader::kMinProtocol)
    bad_image("boot protocol " + protocol_text(hdr.version) + " is older than 2.06, which vmm needs");
  if (hdr.boot_flag != kBootFlag) bad_image("setup header boot_flag is " + hex(hdr.boot_flag) + ", not 0xaa55");
  if (!(hdr.loadflags & LOADED_HIGH)) bad_image("a zImage (loaded below 1 MiB); vmm boots bzImages");
  if (hdr.version >= 0x20c && !(hdr.xloadflags & XLF_KERNEL_64))
    bad_image("no 64-bit entry point (xloadflags lacks XLF_KERNEL_64): a 32-bit kernel?");

  KernelPlacement placement;
  const std::uint64_t setup_sects = hdr.setup_sects == 0 ? 4 : hdr.setup_sects;
  placement.file_offset = (setup_sects + 1) * kSectorBytes;
  if (placement.file_offset >= image.size())
    bad_image("setup_sects (" + std::to_string(setup_sects) + ") puts the kernel beyond the end of the file");
  placement.file_size = image.size() - placement.file_offset;

  // A relocatable kernel may go anywhere aligned; its preferred address
  // (2.10) is where it would otherwise move itself.
  std::uint64_t address = 0x100000;
  if (hdr.version >= 0x20a && hdr.pref_address != 0) address = hdr.pref_address;
  if (hdr.relocatable_kernel && hdr.kernel_alignment != 0) {
    if ((hdr.kernel_alignment & (hdr.kernel_alignment - 1)) != 0)
      bad_image("kernel_alignment " + hex(hdr.kernel_alignment) + " is not a power of two");
    address = align_up(address, hdr.kernel_alignment);
  }
  placement.address = address;
  placement.extent = std::max<std::uint64_t>(placement.file_size, hdr.version >= 0x20a ? hdr.init_size : 0);
  placement.entry = address + k64BitEntryOffset;
  if (placement.entry >= address + placement.file_size) bad_image("the kernel is too short for its 64-bit entry");
  hdr.code32_start = static_cast<std::uint32_t>(address);
  return placement;
}

}  // namespace

std::optional<LinuxLoader::Format> LinuxLoader::recognize(std::span<const std::uint8_t> image) {
  if (image.size() >= kSetupHeaderMagicOffset + 4) {
    std::uint32_t magic;
    std::memcpy(&magic, image.data() + kSetupHeaderMagicOffset, sizeof magic);
    if (magic == kSetupHeaderMagic) return Format::BzImage;
  }
  if (is_elf64_x86_64(image)) return Format::Vmlinux;
  return std::nullopt;
}

const char* LinuxLoader::name(Format format) { return format == Format::BzImage ? "bzImage" : "vmlinux"; }

EntryState LinuxLoader::load(std::span<const std::uint8_t> image, GuestMemory& memory, const LinuxBootOptions& options,
                             LinuxBootLayout* layout) {
  const auto format = recognize(image);
  if (!format) bad_image("neither a bzImage (no \"HdrS\" setup header at 0x202) nor an ELF64 x86-64 vmlinux");

  auto params = std::make_unique<boot_params>();
  std::memset(params.get(), 0, sizeof(boot_params));
  setup_header& hdr = params->hdr;
  const std::uint64_t ram_end = memory.low_end();
  const std::string ram = std::to_string(memory.size() >> 20) + " MiB";

  // Plan the kernel and check all of it before writing any guest memory.
  std::uint64_t kernel_start = 0, kernel_end = 0, entry = 0;
  ElfPlan elf;
  KernelPlacement bzimage;
  if (*format == Format::BzImage) {
    bzimage = place_bzimage(image, *params);
    kernel_start = bzimage.address;
    kernel_end = bzimage.address + bzimage.extent;
    entry = bzimage.entry;
  } else {
    elf = plan_elf_image(image);
    kernel_start = ~0ull;
    for (const auto& segment : elf.segments) {
      kernel_start = std::min(kernel_start, segment.address);
      kernel_end = std::max(kernel_end, segment.address + segment.memory_size);
    }
    entry = elf.entry;
    hdr.boot_flag = kBootFlag;
    hdr.header = kSetupHeaderMagic;
    hdr.version = kVmlinuxProtocol;
    hdr.cmdline_size = kVmlinuxCmdlineSize - 1;
    hdr.initrd_addr_max = kVmlinuxInitrdAddrMax;
    hdr.kernel_alignment = 0x200000;
  }
  if (kernel_start < memory_map::kHighMemory)
    bad_image("the kernel loads at " + hex(kernel_start) + ", below 1 MiB, where the boot data goes");
  if (kernel_end > ram_end || kernel_end > k4GiB)
    bad_image(std::string(name(*format)) + " needs RAM up to " + hex(kernel_end) + " (" + mib(kernel_end) +
              "), more than the VM's " + ram + " below the MMIO hole; raise memory_mib");
  // bzImage's entry is fixed by the protocol (startup_64, checked against the
  // file by place_bzimage); a vmlinux names its own.
  if (*format == Format::Vmlinux) check_entry_is_loaded(elf.segments, entry);

  // The command line, NUL-terminated, at most cmdline_size bytes before the NUL.
  const std::uint32_t cmdline_max = hdr.cmdline_size != 0 ? hdr.cmdline_size : 255;  // 255 before 2.06
  if (options.cmdline.size() > cmdline_max)
    throw InputError("the command line is " + std::to_string(options.cmdline.size()) + " bytes; this kernel takes at most " +
                     std::to_string(cmdline_max));
  if (options.cmdline.find('\0') != std::string::npos) throw InputError("the command line contains a NUL byte");

  // The initrd at the top of RAM below initrd_addr_max, clear of the kernel
  // (as GRUB and QEMU place it).
  std::uint64_t initrd_start = 0;
  if (!options.initrd.empty()) {
    const std::uint64_t limit = std::min<std::uint64_t>(ram_end, std::uint64_t{hdr.initrd_addr_max} + 1);
    const std::uint64_t size = options.initrd.size();
    initrd_start = limit >= size ? (limit - size) & ~(kPageSize - 1) : 0;
    if (limit < size || initrd_start < align_up(kernel_end, kPageSize))
      throw InputError("the initrd (" + mib(size) + ") does not fit between the kernel's end at " + hex(kernel_end) +
                       " and " + hex(limit) + "; raise memory_mib");
  }

  const auto map = bios_memory_map(memory);
  if (map.size() > E820_MAX_ENTRIES_ZEROPAGE) throw InputError("guest memory has too many e820 entries");
  for (std::size_t i = 0; i < map.size(); ++i)
    params->e820_table[i] = {map[i].base, map[i].length, map[i].type};
  params->e820_entries = static_cast<std::uint8_t>(map.size());

  hdr.type_of_loader = kLoaderUndefined;
  hdr.cmd_line_ptr = static_cast<std::uint32_t>(kCmdlineAddress);
  hdr.ramdisk_image = static_cast<std::uint32_t>(initrd_start);
  hdr.ramdisk_size = static_cast<std::uint32_t>(options.initrd.size());
  params->acpi_rsdp_addr = options.acpi_rsdp;
  // Everything vmm puts in RAM is below 4 GiB, so the ext_* halves stay zero.

  // Everything checked: write.
  if (*format == Format::BzImage) {
    memory.write(bzimage.address, image.subspan(bzimage.file_offset, bzimage.file_size));
  } else {
    for (const auto& segment : elf.segments) {
      memory.write(segment.address, image.subspan(segment.file_offset, segment.file_size));
      memory.fill(segment.address + segment.file_size, segment.memory_size - segment.file_size, 0);
    }
  }
  std::vector<std::uint8_t> cmdline(options.cmdline.begin(), options.cmdline.end());
  cmdline.push_back(0);
  memory.write(kCmdlineAddress, cmdline);
  if (!options.initrd.empty()) memory.write(initrd_start, options.initrd);
  memory.write(kBootParamsAddress,
               std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(params.get()), sizeof(boot_params)));

  if (layout)
    *layout = {hdr.version,    kernel_start,
               kernel_end,     kBootParamsAddress,
               kCmdlineAddress, initrd_start,
               initrd_start + options.initrd.size(), map.size()};
  EntryState state = enter_long_mode(memory, entry, kBootParamsAddress);
  state.protocol = EntryState::Protocol::Linux;
  return state;
}

}  // namespace vmm
