#include "vmm/loader/LinuxLoader.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "vmm/Errors.h"
#include "vmm/loader/LongModeEntry.h"

namespace vmm {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

template <typename T>
void put(std::vector<std::uint8_t>& bytes, std::size_t offset, const T& value) {
  if (bytes.size() < offset + sizeof value) bytes.resize(offset + sizeof value);
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

template <typename T>
T read_at(const GuestMemory& memory, std::uint64_t address) {
  T value;
  memory.read(address, std::span(reinterpret_cast<std::uint8_t*>(&value), sizeof value));
  return value;
}

std::unique_ptr<boot_params> zero_page(const GuestMemory& memory) {
  auto params = std::make_unique<boot_params>();
  memory.read(LinuxLoader::kBootParamsAddress,
              std::span(reinterpret_cast<std::uint8_t*>(params.get()), sizeof(boot_params)));
  return params;
}

// A bzImage as the boot protocol lays one out: boot sector and setup
// (setup_sects + 1 sectors) with the setup header at 0x1f1, then the
// protected-mode kernel.
struct BzImage {
  std::uint16_t version = 0x20f;
  std::uint8_t setup_sects = 4;
  std::uint8_t loadflags = LOADED_HIGH;
  std::uint16_t xloadflags = XLF_KERNEL_64;
  std::uint64_t pref_address = 0x1000000;
  std::uint32_t init_size = 0x400000;
  std::uint32_t kernel_alignment = 0x200000;
  std::uint8_t relocatable = 1;
  std::uint32_t cmdline_size = 2047;
  std::uint32_t initrd_addr_max = 0x7fffffff;
  std::size_t kernel_bytes = 0x3000;

  std::vector<std::uint8_t> build() const {
    std::vector<std::uint8_t> image((setup_sects + 1) * 512 + kernel_bytes, 0);
    for (std::size_t i = (setup_sects + 1) * 512; i < image.size(); ++i) image[i] = static_cast<std::uint8_t>(i * 7);
    setup_header hdr{};
    hdr.setup_sects = setup_sects;
    hdr.boot_flag = 0xaa55;
    hdr.jump = 0x66eb;  // a jmp over the header to 0x268
    hdr.header = 0x53726448;
    hdr.version = version;
    hdr.loadflags = loadflags;
    hdr.code32_start = 0x100000;
    hdr.initrd_addr_max = initrd_addr_max;
    hdr.kernel_alignment = kernel_alignment;
    hdr.relocatable_kernel = relocatable;
    hdr.xloadflags = xloadflags;
    hdr.cmdline_size = cmdline_size;
    hdr.pref_address = pref_address;
    hdr.init_size = init_size;
    put(image, 0x1f1, hdr);
    return image;
  }
};

// An ELF64 vmlinux as Linux links one: text at a virtual address in the top
// 2 GiB with its physical address at 16 MiB, entry given physically.
struct Vmlinux {
  std::uint64_t paddr = 0x1000000;
  std::uint64_t vaddr = 0xffffffff81000000ull;
  std::uint64_t filesz = 0x2000;
  std::uint64_t memsz = 0x5000;
  std::uint64_t entry = 0x1000000;
  std::uint16_t machine = EM_X86_64;

  std::vector<std::uint8_t> build() const {
    constexpr std::size_t kSegmentOffset = 0x1000;
    std::vector<std::uint8_t> image(kSegmentOffset + filesz, 0x90);
    Elf64_Ehdr ehdr{};
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_type = ET_EXEC;
    ehdr.e_machine = machine;
    ehdr.e_version = EV_CURRENT;
    ehdr.e_entry = entry;
    ehdr.e_phoff = sizeof ehdr;
    ehdr.e_ehsize = sizeof ehdr;
    ehdr.e_phentsize = sizeof(Elf64_Phdr);
    ehdr.e_phnum = 1;
    put(image, 0, ehdr);
    Elf64_Phdr phdr{};
    phdr.p_type = PT_LOAD;
    phdr.p_offset = kSegmentOffset;
    phdr.p_vaddr = vaddr;
    phdr.p_paddr = paddr;
    phdr.p_filesz = filesz;
    phdr.p_memsz = memsz;
    put(image, sizeof ehdr, phdr);
    return image;
  }
};

std::string load_error(const std::vector<std::uint8_t>& image, std::uint64_t ram = 64 * kMiB,
                       const LinuxBootOptions& options = {}) {
  GuestMemory memory(ram);
  try {
    LinuxLoader::load(image, memory, options);
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

TEST(LinuxLoader, RecognizesEachFormatByItsMagic) {
  EXPECT_EQ(LinuxLoader::recognize(BzImage{}.build()), LinuxLoader::Format::BzImage);
  EXPECT_EQ(LinuxLoader::recognize(Vmlinux{}.build()), LinuxLoader::Format::Vmlinux);
  EXPECT_FALSE(LinuxLoader::recognize(Vmlinux{.machine = EM_386}.build()));
  EXPECT_FALSE(LinuxLoader::recognize(std::vector<std::uint8_t>(4096, 0)));
}

TEST(LinuxLoader, BzImageGoesToItsPreferredAddressWithTheHeaderInTheZeroPage) {
  GuestMemory memory(64 * kMiB);
  const auto image = BzImage{}.build();
  LinuxBootOptions options{.cmdline = "console=ttyS0 panic=-1", .initrd = std::vector<std::uint8_t>(10000, 0xab)};
  LinuxBootLayout layout;
  const EntryState entry = LinuxLoader::load(image, memory, options, &layout);

  EXPECT_EQ(entry.mode, EntryState::Mode::Long64);
  EXPECT_EQ(entry.protocol, EntryState::Protocol::Linux);
  EXPECT_EQ(entry.rip, 0x1000000u + 0x200) << "startup_64 of the decompressor";
  EXPECT_EQ(entry.rsi, LinuxLoader::kBootParamsAddress);
  EXPECT_EQ(read_at<std::uint8_t>(memory, 0x1000000), image[5 * 512]);
  EXPECT_EQ(read_at<std::uint8_t>(memory, 0x1000000 + 0x2fff), image.back());
  EXPECT_EQ(layout.kernel_end, 0x1000000u + 0x400000) << "init_size, not the file, bounds the kernel";

  const auto params = zero_page(memory);
  EXPECT_EQ(params->hdr.header, 0x53726448u);
  EXPECT_EQ(params->hdr.version, 0x20f);
  EXPECT_EQ(params->hdr.type_of_loader, 0xff);
  EXPECT_EQ(params->hdr.code32_start, 0x1000000u);
  EXPECT_EQ(params->hdr.cmd_line_ptr, LinuxLoader::kCmdlineAddress);
  std::string cmdline(options.cmdline.size() + 1, 'x');
  memory.read(LinuxLoader::kCmdlineAddress, std::span(reinterpret_cast<std::uint8_t*>(cmdline.data()), cmdline.size()));
  EXPECT_EQ(cmdline, options.cmdline + '\0');

  // The initrd at the top of RAM, page-aligned, clear of the kernel.
  EXPECT_EQ(params->hdr.ramdisk_size, 10000u);
  EXPECT_EQ(params->hdr.ramdisk_image, (64 * kMiB - 10000) & ~0xfffull);
  EXPECT_EQ(read_at<std::uint8_t>(memory, params->hdr.ramdisk_image + 9999), 0xab);
}

TEST(LinuxLoader, ZeroPageCarriesTheE820MapWithTheUsualHoles) {
  GuestMemory memory(64 * kMiB);
  LinuxLoader::load(Vmlinux{}.build(), memory, {});
  const auto params = zero_page(memory);
  ASSERT_EQ(params->e820_entries, 4);
  struct Expected {
    std::uint64_t addr, size;
    std::uint32_t type;
  };
  const Expected expected[] = {
      {0, 0x9fc00, 1}, {0x9fc00, 0x400, 2}, {0xf0000, 0x10000, 2}, {0x100000, 64 * kMiB - 0x100000, 1}};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(params->e820_table[i].addr, expected[i].addr);
    EXPECT_EQ(params->e820_table[i].size, expected[i].size);
    EXPECT_EQ(params->e820_table[i].type, expected[i].type);
  }
}

TEST(LinuxLoader, VmlinuxGoesByPhysicalAddressAndEntersAtStartup64) {
  GuestMemory memory(64 * kMiB);
  memory.fill(0x1000000 + 0x2000, 0x3000, 0xee);  // the BSS must come out zeroed
  LinuxBootLayout layout;
  const EntryState entry = LinuxLoader::load(Vmlinux{}.build(), memory, {.cmdline = "quiet"}, &layout);
  EXPECT_EQ(entry.rip, 0x1000000u);
  EXPECT_EQ(read_at<std::uint8_t>(memory, 0x1000000), 0x90);
  EXPECT_EQ(read_at<std::uint8_t>(memory, 0x1000000 + 0x4fff), 0);
  const auto params = zero_page(memory);
  EXPECT_EQ(params->hdr.boot_flag, 0xaa55);
  EXPECT_EQ(params->hdr.header, 0x53726448u);
  EXPECT_EQ(params->hdr.version, 0x20c);
  EXPECT_EQ(params->hdr.ramdisk_image, 0u);
}

TEST(LinuxLoader, LongModeEntryIdentityMapsFourGibibytesWithTheProtocolsGdt) {
  GuestMemory memory(64 * kMiB);
  const EntryState entry = LinuxLoader::load(Vmlinux{}.build(), memory, {});
  EXPECT_EQ(entry.cr3, long_mode::kPml4Address);
  EXPECT_EQ(entry.gdt_base, long_mode::kGdtAddress);
  // Walk the tables for a few addresses.
  for (const std::uint64_t address : {0x0ull, 0x1000000ull, 0xfee00000ull, 0xffffffffull}) {
    SCOPED_TRACE(address);
    const auto pml4e = read_at<std::uint64_t>(memory, entry.cr3 + ((address >> 39) & 511) * 8);
    ASSERT_TRUE(pml4e & 1);
    const auto pdpte = read_at<std::uint64_t>(memory, (pml4e & ~0xfffull) + ((address >> 30) & 511) * 8);
    ASSERT_TRUE(pdpte & 1);
    const auto pde = read_at<std::uint64_t>(memory, (pdpte & ~0xfffull) + ((address >> 21) & 511) * 8);
    ASSERT_EQ(pde & 0x83, 0x83u) << "present, writable, 2 MiB";
    EXPECT_EQ((pde & ~0x1fffffull) | (address & 0x1fffff), address);
  }
  // __BOOT_CS: 64-bit code (L), present, DPL 0; __BOOT_DS: flat read/write data.
  const auto code = read_at<std::uint64_t>(memory, entry.gdt_base + long_mode::kCodeSelector);
  const auto data = read_at<std::uint64_t>(memory, entry.gdt_base + long_mode::kDataSelector);
  EXPECT_TRUE(code & (1ull << 53));
  EXPECT_EQ((code >> 40) & 0xff, 0x9bu);
  EXPECT_EQ((data >> 40) & 0xff, 0x93u);
}

TEST(LinuxLoader, MalformedImagesAreOneLineErrorsNamingTheField) {
  struct Case {
    const char* name;
    std::vector<std::uint8_t> image;
    std::uint64_t ram;
    const char* expected;
  };
  auto truncated = BzImage{}.build();
  truncated.resize(0x210);
  auto short_vmlinux = Vmlinux{}.build();
  short_vmlinux.resize(0x1800);
  const Case cases[] = {
      {"old protocol", BzImage{.version = 0x205}.build(), 64 * kMiB, "boot protocol 2.5 is older than 2.06"},
      {"zImage", BzImage{.loadflags = 0}.build(), 64 * kMiB, "a zImage"},
      {"32-bit", BzImage{.xloadflags = 0}.build(), 64 * kMiB, "no 64-bit entry point"},
      {"setup beyond the file", BzImage{.setup_sects = 200, .kernel_bytes = 0}.build(), 64 * kMiB, "setup_sects (200)"},
      {"truncated header", truncated, 64 * kMiB, "setup header is truncated"},
      {"alignment", BzImage{.kernel_alignment = 0x300000}.build(), 64 * kMiB, "kernel_alignment 0x300000"},
      {"init_size over RAM", BzImage{.init_size = 0x8000000}.build(), 64 * kMiB, "needs RAM up to 0x9000000 (144 MiB)"},
      {"below 1 MiB", BzImage{.pref_address = 0x10000, .relocatable = 0}.build(), 64 * kMiB, "below 1 MiB"},
      {"vmlinux over RAM", Vmlinux{.paddr = 0x3000000}.build(), 32 * kMiB, "vmlinux needs RAM up to 0x3005000"},
      {"entry outside", Vmlinux{.entry = 0x2000000}.build(), 64 * kMiB, "entry point 0x2000000 is not in the bytes the image loads ([0x1000000, 0x1002000))"},
      {"segment beyond the file", short_vmlinux, 64 * kMiB, "ELF segment 0 lies beyond the end of the file"},
      {"neither", std::vector<std::uint8_t>(600, 1), 64 * kMiB, "neither a bzImage"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string error = load_error(c.image, c.ram);
    ASSERT_FALSE(error.empty());
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
}

TEST(LinuxLoader, CommandLineAndInitrdLimitsAreChecked) {
  EXPECT_NE(load_error(BzImage{.cmdline_size = 16}.build(), 64 * kMiB, {.cmdline = std::string(17, 'a')})
                .find("the command line is 17 bytes; this kernel takes at most 16"),
            std::string::npos);
  EXPECT_NE(load_error(BzImage{}.build(), 64 * kMiB, {.initrd = std::vector<std::uint8_t>(60 * kMiB, 1)})
                .find("does not fit"),
            std::string::npos);
  // initrd_addr_max below the kernel's end leaves no room at all.
  EXPECT_NE(load_error(BzImage{.initrd_addr_max = 0xffffff}.build(), 64 * kMiB, {.initrd = {1, 2, 3}}).find("does not fit"),
            std::string::npos);
}

}  // namespace
}  // namespace vmm
