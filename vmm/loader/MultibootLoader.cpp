#include "vmm/loader/MultibootLoader.h"

#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "vmm/Errors.h"
#include "vmm/loader/ImageError.h"
#include "vmm/loader/ElfImage.h"
#include "vmm/loader/MemoryMap.h"

namespace vmm {

namespace {

// Header flags (Multiboot 0.6.96 section 3.1.2). Bits 0-15 are requirements a
// loader must refuse when it cannot meet them.
constexpr std::uint32_t kFlagPageAlignModules = 1u << 0;
constexpr std::uint32_t kFlagMemoryInfo = 1u << 1;
constexpr std::uint32_t kFlagVideoMode = 1u << 2;
constexpr std::uint32_t kFlagAoutKludge = 1u << 16;
constexpr std::uint32_t kRequirementBits = 0xffff;
constexpr std::uint32_t kSupportedRequirements = kFlagPageAlignModules | kFlagMemoryInfo | kFlagVideoMode;

// Boot information flags (section 3.3).
constexpr std::uint32_t kInfoMemory = 1u << 0;
constexpr std::uint32_t kInfoCmdline = 1u << 2;
constexpr std::uint32_t kInfoModules = 1u << 3;
constexpr std::uint32_t kInfoMemoryMap = 1u << 6;
constexpr std::uint32_t kInfoLoaderName = 1u << 9;

constexpr std::uint64_t kInfoStructSize = 88;  // up to and including the APM table pointer
constexpr std::uint64_t kMmapEntrySize = 24;   // size field + 20-byte entry
constexpr std::uint64_t kModuleEntrySize = 16;
constexpr std::uint64_t kPageSize = 4096;
constexpr std::uint64_t k4GiB = 1ull << 32;

using memory_map::kEbdaStart;
using memory_map::kHighMemory;

using loader::bad_image;
using loader::hex;

std::uint64_t page_align(std::uint64_t value) { return (value + kPageSize - 1) & ~(kPageSize - 1); }

std::uint32_t read_u32(std::span<const std::uint8_t> bytes, std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

struct Header {
  std::size_t offset;
  std::uint32_t flags;
};

std::optional<Header> find_header(std::span<const std::uint8_t> image, bool* bad_checksum = nullptr) {
  const std::size_t limit = std::min(image.size(), MultibootLoader::kHeaderSearchBytes);
  for (std::size_t offset = 0; offset + 12 <= limit; offset += 4) {
    if (read_u32(image, offset) != MultibootLoader::kHeaderMagic) continue;
    const std::uint32_t flags = read_u32(image, offset + 4);
    if (static_cast<std::uint32_t>(MultibootLoader::kHeaderMagic + flags + read_u32(image, offset + 8)) == 0)
      return Header{offset, flags};
    if (bad_checksum) *bad_checksum = true;
  }
  return std::nullopt;
}


struct KernelPlan {
  std::vector<ElfSegment> segments;
  std::uint64_t entry;
};

KernelPlan plan_aout_kludge(std::span<const std::uint8_t> image, const Header& header) {
  if (header.offset + 32 > image.size()) bad_image("a.out kludge header is truncated");
  const std::uint32_t header_addr = read_u32(image, header.offset + 12);
  const std::uint32_t load_addr = read_u32(image, header.offset + 16);
  const std::uint32_t load_end_addr = read_u32(image, header.offset + 20);
  const std::uint32_t bss_end_addr = read_u32(image, header.offset + 24);
  const std::uint32_t entry_addr = read_u32(image, header.offset + 28);
  if (load_addr > header_addr || header_addr - load_addr > header.offset)
    bad_image("a.out kludge: header_addr " + hex(header_addr) + " and load_addr " + hex(load_addr) +
              " put the load start before the file");
  const std::uint64_t file_offset = header.offset - (header_addr - load_addr);
  std::uint64_t file_size = image.size() - file_offset;
  if (load_end_addr != 0) {
    if (load_end_addr < load_addr) bad_image("a.out kludge: load_end_addr is below load_addr");
    file_size = load_end_addr - load_addr;
    if (file_size > image.size() - file_offset)
      bad_image("a.out kludge: load_end_addr " + hex(load_end_addr) + " lies beyond the end of the file");
  }
  std::uint64_t memory_size = file_size;
  if (bss_end_addr != 0) {
    if (bss_end_addr < load_addr + file_size) bad_image("a.out kludge: bss_end_addr is below load_end_addr");
    memory_size = bss_end_addr - load_addr;
  }
  return {{ElfSegment{file_offset, file_size, load_addr, memory_size}}, entry_addr};
}


void put_u32(std::vector<std::uint8_t>& block, std::uint64_t offset, std::uint32_t value) {
  std::memcpy(block.data() + offset, &value, sizeof value);
}
void put_u64(std::vector<std::uint8_t>& block, std::uint64_t offset, std::uint64_t value) {
  std::memcpy(block.data() + offset, &value, sizeof value);
}


}  // namespace

bool MultibootLoader::recognizes(std::span<const std::uint8_t> image) {
  // The magic alone: an image with a bad checksum is a Multiboot image with a
  // broken header, which load() reports as such.
  bool bad_checksum = false;
  return find_header(image, &bad_checksum).has_value() || bad_checksum;
}

EntryState MultibootLoader::load(std::span<const std::uint8_t> image, GuestMemory& memory,
                                 const MultibootOptions& options, MultibootLayout* layout) {
  bool bad_checksum = false;
  const auto header = find_header(image, &bad_checksum);
  if (!header)
    bad_image(bad_checksum ? "Multiboot header has a bad checksum"
                           : "no Multiboot header (magic 0x1BADB002) in the first 8 KiB; is this a Multiboot kernel?");
  const std::uint32_t unsupported = header->flags & kRequirementBits & ~kSupportedRequirements;
  if (unsupported) bad_image("Multiboot header requires features vmm does not provide (flags " + hex(unsupported) + ")");

  if (!(header->flags & kFlagAoutKludge) && !is_elf_image(image))
    bad_image("not an ELF file, and its Multiboot header does not ask for the a.out kludge (flag bit 16)");
  KernelPlan plan;
  if (header->flags & kFlagAoutKludge) {
    plan = plan_aout_kludge(image, *header);
  } else {
    auto elf = plan_elf_image(image);
    plan = {std::move(elf.segments), elf.entry};
  }
  if (plan.entry >= k4GiB) bad_image("entry point " + hex(plan.entry) + " is above 4 GiB");
  check_entry_is_loaded(plan.segments, plan.entry);

  // Check every segment before writing any, so a bad image leaves memory untouched.
  const std::uint64_t ram_mib = memory.size() >> 20;
  std::uint64_t kernel_start = ~0ull, kernel_end = 0;
  for (const auto& segment : plan.segments) {
    if (segment.address + segment.memory_size > k4GiB || !memory.contains(segment.address, segment.memory_size))
      bad_image("segment [" + hex(segment.address) + ", " + hex(segment.address + segment.memory_size) +
                ") is outside guest RAM (" + std::to_string(ram_mib) +
                " MiB); give the VM more memory or check the image");
    kernel_start = std::min(kernel_start, segment.address);
    kernel_end = std::max(kernel_end, segment.address + segment.memory_size);
  }
  for (const auto& segment : plan.segments) {
    memory.write(segment.address, image.subspan(segment.file_offset, segment.file_size));
    memory.fill(segment.address + segment.file_size, segment.memory_size - segment.file_size, 0);
  }

  // Modules go page-aligned after the kernel, then the boot information block.
  std::uint64_t cursor = page_align(kernel_end);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> module_ranges;
  for (std::size_t i = 0; i < options.modules.size(); ++i) {
    const auto& module = options.modules[i];
    if (cursor + module.data.size() > memory.low_end())
      throw InputError("module " + std::to_string(i) + " (" + std::to_string(module.data.size()) +
                       " bytes) does not fit in guest RAM after the kernel; give the VM more memory");
    memory.write(cursor, module.data);
    module_ranges.emplace_back(cursor, cursor + module.data.size());
    cursor = page_align(cursor + module.data.size());
  }

  const auto map = bios_memory_map(memory);
  const std::uint64_t mmap_offset = kInfoStructSize;
  const std::uint64_t modules_offset = mmap_offset + map.size() * kMmapEntrySize;
  const std::uint64_t strings_offset = modules_offset + options.modules.size() * kModuleEntrySize;
  std::uint64_t block_size = strings_offset + options.cmdline.size() + 1 + options.loader_name.size() + 1;
  for (const auto& module : options.modules) block_size += module.cmdline.size() + 1;
  const std::uint64_t info = cursor;
  if (info + block_size > memory.low_end())
    throw InputError("guest memory (" + std::to_string(ram_mib) +
                     " MiB) is too small for the kernel, its modules and the boot information; raise memory_mib");

  std::vector<std::uint8_t> block(block_size, 0);
  std::uint64_t strings = strings_offset;
  auto put_string = [&](const std::string& text) {
    std::memcpy(block.data() + strings, text.data(), text.size());
    const std::uint64_t address = info + strings;
    strings += text.size() + 1;
    return static_cast<std::uint32_t>(address);
  };

  const std::uint64_t upper_kib = memory.low_end() > kHighMemory ? (memory.low_end() - kHighMemory) / 1024 : 0;
  put_u32(block, 0, kInfoMemory | kInfoCmdline | kInfoModules | kInfoMemoryMap | kInfoLoaderName);
  put_u32(block, 4, static_cast<std::uint32_t>(std::min(memory.low_end(), kEbdaStart) / 1024));
  put_u32(block, 8, static_cast<std::uint32_t>(upper_kib));
  put_u32(block, 16, put_string(options.cmdline));
  put_u32(block, 20, static_cast<std::uint32_t>(options.modules.size()));
  put_u32(block, 24, static_cast<std::uint32_t>(info + modules_offset));
  put_u32(block, 44, static_cast<std::uint32_t>(map.size() * kMmapEntrySize));
  put_u32(block, 48, static_cast<std::uint32_t>(info + mmap_offset));
  put_u32(block, 64, put_string(options.loader_name));
  for (std::size_t i = 0; i < map.size(); ++i) {
    const std::uint64_t entry = mmap_offset + i * kMmapEntrySize;
    put_u32(block, entry, kMmapEntrySize - 4);  // the size field does not count itself
    put_u64(block, entry + 4, map[i].base);
    put_u64(block, entry + 12, map[i].length);
    put_u32(block, entry + 20, map[i].type);
  }
  for (std::size_t i = 0; i < options.modules.size(); ++i) {
    const std::uint64_t entry = modules_offset + i * kModuleEntrySize;
    put_u32(block, entry, static_cast<std::uint32_t>(module_ranges[i].first));
    put_u32(block, entry + 4, static_cast<std::uint32_t>(module_ranges[i].second));
    put_u32(block, entry + 8, put_string(options.modules[i].cmdline));
  }
  memory.write(info, block);

  if (layout) *layout = {kernel_start, kernel_end, info, info + block_size, module_ranges};
  EntryState state;
  state.mode = EntryState::Mode::Protected32Flat;
  state.rip = plan.entry;
  state.rax = kBootloaderMagic;
  state.rbx = info;
  return state;
}

}  // namespace vmm
