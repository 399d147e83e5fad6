#include "vmm/loader/MultibootLoader.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

#include "vmm/Errors.h"

namespace vmm {
namespace {

constexpr std::uint32_t kLoadAddress = 0x100000;
constexpr std::uint64_t kMiB = 1 << 20;

template <typename T>
void put(std::vector<std::uint8_t>& bytes, std::size_t offset, const T& value) {
  if (bytes.size() < offset + sizeof value) bytes.resize(offset + sizeof value);
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

std::uint32_t u32_at(const GuestMemory& memory, std::uint64_t address) {
  std::uint32_t value;
  memory.read(address, std::span(reinterpret_cast<std::uint8_t*>(&value), sizeof value));
  return value;
}

std::string string_at(const GuestMemory& memory, std::uint64_t address) {
  std::string text;
  for (std::uint8_t byte = 0;; ++address) {
    memory.read(address, std::span(&byte, 1));
    if (byte == 0) return text;
    text += static_cast<char>(byte);
  }
}

// A minimal ELF32 Multiboot kernel: one PT_LOAD segment at 1 MiB holding the
// Multiboot header and `code_bytes` of payload, plus `bss` zeroed bytes.
struct ElfKernel {
  std::uint32_t paddr = kLoadAddress;
  std::uint32_t filesz = 64;
  std::uint32_t memsz = 64 + 4096;
  std::uint32_t flags = 0x3;
  std::uint32_t entry = kLoadAddress + 32;

  std::vector<std::uint8_t> build() const {
    constexpr std::size_t kSegmentOffset = 0x1000;
    std::vector<std::uint8_t> image(kSegmentOffset + filesz, 0xcc);
    Elf32_Ehdr ehdr{};
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS32;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_type = ET_EXEC;
    ehdr.e_machine = EM_386;
    ehdr.e_version = EV_CURRENT;
    ehdr.e_entry = entry;
    ehdr.e_phoff = sizeof ehdr;
    ehdr.e_ehsize = sizeof ehdr;
    ehdr.e_phentsize = sizeof(Elf32_Phdr);
    ehdr.e_phnum = 1;
    put(image, 0, ehdr);
    Elf32_Phdr phdr{};
    phdr.p_type = PT_LOAD;
    phdr.p_offset = kSegmentOffset;
    phdr.p_vaddr = paddr;
    phdr.p_paddr = paddr;
    phdr.p_filesz = filesz;
    phdr.p_memsz = memsz;
    put(image, sizeof ehdr, phdr);
    put(image, kSegmentOffset, MultibootLoader::kHeaderMagic);
    put(image, kSegmentOffset + 4, flags);
    put(image, kSegmentOffset + 8, static_cast<std::uint32_t>(0u - MultibootLoader::kHeaderMagic - flags));
    return image;
  }
};

std::string load_error(const std::vector<std::uint8_t>& image, std::uint64_t memory_bytes = 16 * kMiB) {
  GuestMemory memory(memory_bytes);
  try {
    MultibootLoader::load(image, memory, {});
  } catch (const InputError& error) {
    return error.what();
  }
  return "(loaded)";
}

TEST(MultibootLoader, LoadsElfSegmentZeroesBssAndEntersWithMagic) {
  GuestMemory memory(16 * kMiB);
  memory.fill(kLoadAddress + 64, 4096, 0x5a);  // the loader must clear the BSS
  MultibootOptions options;
  options.cmdline = "kernel tasks=4";
  MultibootLayout layout;
  const auto entry = MultibootLoader::load(ElfKernel{}.build(), memory, options, &layout);
  EXPECT_EQ(entry.mode, EntryState::Mode::Protected32Flat);
  EXPECT_EQ(entry.rip, kLoadAddress + 32);
  EXPECT_EQ(entry.rax, MultibootLoader::kBootloaderMagic);
  EXPECT_EQ(entry.rbx, layout.info_address);
  EXPECT_EQ(u32_at(memory, kLoadAddress), MultibootLoader::kHeaderMagic);
  EXPECT_EQ(u32_at(memory, kLoadAddress + 60), 0xccccccccu);
  EXPECT_EQ(u32_at(memory, kLoadAddress + 64), 0u);
  EXPECT_EQ(u32_at(memory, kLoadAddress + 64 + 4092), 0u);
  EXPECT_EQ(layout.kernel_end, kLoadAddress + 64 + 4096);
  EXPECT_GE(layout.info_address, layout.kernel_end);
  EXPECT_EQ(layout.info_address % 4096, 0u);
}

TEST(MultibootLoader, InfoHasMemoryMapCmdlineModulesAndLoaderName) {
  GuestMemory memory(16 * kMiB);
  MultibootOptions options;
  options.cmdline = "vmm-guest tasks=2";
  options.modules.push_back({std::vector<std::uint8_t>(5000, 0xab), "initrd.img root=x"});
  MultibootLayout layout;
  MultibootLoader::load(ElfKernel{}.build(), memory, options, &layout);
  const std::uint64_t info = layout.info_address;
  EXPECT_EQ(u32_at(memory, info) & 0x24d, 0x24du);  // mem, cmdline, mods, mmap, loader name
  EXPECT_EQ(u32_at(memory, info + 4), 639u);
  EXPECT_EQ(u32_at(memory, info + 8), 15u * 1024);
  EXPECT_EQ(string_at(memory, u32_at(memory, info + 16)), "vmm-guest tasks=2");
  EXPECT_EQ(string_at(memory, u32_at(memory, info + 64)), "vmm");

  ASSERT_EQ(u32_at(memory, info + 20), 1u);
  const std::uint32_t module = u32_at(memory, info + 24);
  const std::uint32_t start = u32_at(memory, module), end = u32_at(memory, module + 4);
  EXPECT_EQ(start % 4096, 0u);
  EXPECT_GE(start, layout.kernel_end);
  EXPECT_EQ(end - start, 5000u);
  EXPECT_EQ(u32_at(memory, start) , 0xababababu);
  EXPECT_EQ(string_at(memory, u32_at(memory, module + 8)), "initrd.img root=x");
  EXPECT_GE(info, end);

  // Memory map: low RAM, EBDA, BIOS, RAM from 1 MiB to the end.
  const std::uint32_t length = u32_at(memory, info + 44), map = u32_at(memory, info + 48);
  ASSERT_EQ(length, 4u * 24);
  struct Expected {
    std::uint64_t base, length;
    std::uint32_t type;
  };
  const Expected expected[] = {{0, 0x9fc00, 1}, {0x9fc00, 0x400, 2}, {0xf0000, 0x10000, 2}, {kMiB, 15 * kMiB, 1}};
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t entry = map + i * 24;
    std::uint64_t base, size;
    memory.read(entry + 4, std::span(reinterpret_cast<std::uint8_t*>(&base), 8));
    memory.read(entry + 12, std::span(reinterpret_cast<std::uint8_t*>(&size), 8));
    EXPECT_EQ(u32_at(memory, entry), 20u);
    EXPECT_EQ(base, expected[i].base);
    EXPECT_EQ(size, expected[i].length);
    EXPECT_EQ(u32_at(memory, entry + 20), expected[i].type);
  }
}

TEST(MultibootLoader, AoutKludgeLoadsByHeaderAddresses) {
  std::vector<std::uint8_t> image(0x40 + 256, 0x90);
  const std::uint32_t flags = 0x10003;
  put(image, 0x40, MultibootLoader::kHeaderMagic);
  put(image, 0x44, flags);
  put(image, 0x48, static_cast<std::uint32_t>(0u - MultibootLoader::kHeaderMagic - flags));
  put(image, 0x4c, 0x200040u);  // header_addr
  put(image, 0x50, 0x200000u);  // load_addr: file offset 0
  put(image, 0x54, 0u);         // load_end_addr: to end of file
  put(image, 0x58, 0x202000u);  // bss_end_addr
  put(image, 0x5c, 0x200060u);  // entry_addr
  GuestMemory memory(16 * kMiB);
  memory.fill(0x200000 + image.size(), 16, 0x77);
  MultibootLayout layout;
  const auto entry = MultibootLoader::load(image, memory, {}, &layout);
  EXPECT_EQ(entry.rip, 0x200060u);
  EXPECT_EQ(u32_at(memory, 0x200040), MultibootLoader::kHeaderMagic);
  EXPECT_EQ(u32_at(memory, 0x200000 + image.size()), 0u);
  EXPECT_EQ(layout.kernel_end, 0x202000u);
}

TEST(MultibootLoader, RejectsMalformedImages) {
  struct Case {
    const char* name;
    std::vector<std::uint8_t> image;
    const char* expected;
  };
  auto truncated = ElfKernel{}.build();
  truncated.resize(0x1000 + 16);
  ElfKernel outside;
  outside.paddr = 15 * kMiB;
  outside.entry = 15 * kMiB;
  outside.memsz = 2 * kMiB;
  ElfKernel huge;
  huge.memsz = 0xf0000000;
  ElfKernel wrapping;
  wrapping.memsz = 0xfff00000;
  ElfKernel filesz_over_memsz;
  filesz_over_memsz.memsz = 16;
  ElfKernel wants_video_and_more;
  wants_video_and_more.flags = 0x3 | 0x8;
  auto bad_magic = ElfKernel{}.build();
  put(bad_magic, 0x1000, 0x1badb003u);
  auto bad_checksum = ElfKernel{}.build();
  put(bad_checksum, 0x1008, 0u);
  auto bad_phoff = ElfKernel{}.build();
  put(bad_phoff, offsetof(Elf32_Ehdr, e_phoff), 0xfffffff0u);
  auto many_phdrs = ElfKernel{}.build();
  put(many_phdrs, offsetof(Elf32_Ehdr, e_phnum), static_cast<std::uint16_t>(0xffff));
  auto not_exec = ElfKernel{}.build();
  put(not_exec, offsetof(Elf32_Ehdr, e_type), static_cast<std::uint16_t>(ET_DYN));
  auto not_elf = ElfKernel{}.build();
  not_elf[0] = 'X';

  const Case cases[] = {
      {"empty", {}, "kernel image: no Multiboot header"},
      {"bad magic", bad_magic, "kernel image: no Multiboot header"},
      {"bad checksum", bad_checksum, "kernel image: Multiboot header has a bad checksum"},
      {"truncated", truncated, "kernel image: ELF segment 0 lies beyond the end of the file"},
      {"outside RAM", outside.build(), "kernel image: segment [0xf00000, 0x1100000) is outside guest RAM (16 MiB)"},
      {"absurd memsz", huge.build(), "kernel image: segment [0x100000, 0xf0100000) is outside guest RAM"},
      {"wrapping memsz", wrapping.build(), "kernel image: ELF segment 0 wraps around the address space"},
      {"filesz > memsz", filesz_over_memsz.build(), "kernel image: ELF segment 0 has a file size larger"},
      {"unsupported flags", wants_video_and_more.build(), "kernel image: Multiboot header requires features"},
      {"phoff past end", bad_phoff, "kernel image: ELF program header table lies beyond"},
      {"65535 phdrs", many_phdrs, "kernel image: ELF program header table lies beyond"},
      {"not executable", not_exec, "kernel image: ELF file is not an executable"},
      {"not ELF, no kludge", not_elf, "kernel image: not an ELF file"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string error = load_error(c.image);
    EXPECT_EQ(error.rfind(c.expected, 0), 0u) << error;
  }
}

TEST(MultibootLoader, RejectsAoutKludgeReachingPastTheFile) {
  std::vector<std::uint8_t> image(0x100, 0);
  const std::uint32_t flags = 0x10000;
  put(image, 0x0, MultibootLoader::kHeaderMagic);
  put(image, 0x4, flags);
  put(image, 0x8, static_cast<std::uint32_t>(0u - MultibootLoader::kHeaderMagic - flags));
  put(image, 0xc, 0x100000u);
  put(image, 0x10, 0x100000u);
  put(image, 0x14, 0x200000u);  // load_end far past the 256-byte file
  put(image, 0x18, 0u);
  put(image, 0x1c, 0x100000u);
  EXPECT_EQ(load_error(image).rfind("kernel image: a.out kludge: load_end_addr", 0), 0u) << load_error(image);
  put(image, 0xc, 0x100010u);  // header_addr - load_addr > header offset: load starts before the file
  put(image, 0x14, 0u);
  EXPECT_EQ(load_error(image).rfind("kernel image: a.out kludge: header_addr", 0), 0u) << load_error(image);
}

TEST(MultibootLoader, MemoryTooSmallForBootInfoIsAnInputError) {
  ElfKernel kernel;
  kernel.memsz = 2 * kMiB - kLoadAddress;  // fills RAM to the last byte of 2 MiB
  EXPECT_EQ(load_error(kernel.build(), 2 * kMiB).rfind("guest memory (2 MiB) is too small", 0), 0u)
      << load_error(kernel.build(), 2 * kMiB);
}

TEST(MultibootLoader, BadImageLeavesMemoryUntouched) {
  ElfKernel kernel;
  kernel.memsz = 32 * kMiB;
  GuestMemory memory(16 * kMiB);
  EXPECT_THROW(MultibootLoader::load(kernel.build(), memory, {}), InputError);
  EXPECT_EQ(u32_at(memory, kLoadAddress), 0u);
}

}  // namespace
}  // namespace vmm
