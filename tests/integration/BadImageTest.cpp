// Malformed kernel images and modules, each through the vmm binary: exactly one
// line on stderr, the message given here, and exit status 2; no guest runs.
// The images are built here from a small valid ELF32 or a.out-kludge kernel,
// each with one thing broken.

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <vector>

#include "VmmProcess.h"

namespace vmm::testing {
namespace {

constexpr std::uint32_t kMagic = 0x1BADB002;
constexpr std::uint32_t kLoad = 0x100000;
constexpr std::size_t kSegmentOffset = 0x1000;

using Bytes = std::vector<std::uint8_t>;

template <typename T>
void put(Bytes& bytes, std::size_t offset, const T& value) {
  if (bytes.size() < offset + sizeof value) bytes.resize(offset + sizeof value);
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

void put_header(Bytes& image, std::size_t offset, std::uint32_t flags) {
  put(image, offset, kMagic);
  put(image, offset + 4, flags);
  put(image, offset + 8, static_cast<std::uint32_t>(0u - kMagic - flags));
}

// A valid ELF32 kernel: one PT_LOAD at 1 MiB holding the Multiboot header.
struct Elf32 {
  Elf32_Ehdr ehdr{};
  std::vector<Elf32_Phdr> phdrs;
  std::uint32_t flags = 0x3;
  std::size_t size = kSegmentOffset + 64;

  Elf32() {
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS32;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_type = ET_EXEC;
    ehdr.e_machine = EM_386;
    ehdr.e_version = EV_CURRENT;
    ehdr.e_entry = kLoad + 32;
    ehdr.e_phoff = sizeof ehdr;
    ehdr.e_ehsize = sizeof ehdr;
    ehdr.e_phentsize = sizeof(Elf32_Phdr);
    Elf32_Phdr load{};
    load.p_type = PT_LOAD;
    load.p_offset = kSegmentOffset;
    load.p_vaddr = load.p_paddr = kLoad;
    load.p_filesz = 64;
    load.p_memsz = 64 + 4096;
    phdrs.push_back(load);
  }

  Bytes build() const {
    Bytes image(size, 0xf4);  // hlt, should anything run
    Elf32_Ehdr header = ehdr;
    if (header.e_phnum == 0 && !phdrs.empty()) header.e_phnum = static_cast<Elf32_Half>(phdrs.size());
    put(image, 0, header);
    for (std::size_t i = 0; i < phdrs.size(); ++i) put(image, sizeof header + i * sizeof(Elf32_Phdr), phdrs[i]);
    put_header(image, kSegmentOffset, flags);
    image.resize(size);
    return image;
  }
};

// A valid a.out-kludge kernel: the Multiboot header (flag bit 16) with the
// addresses, at the start of a flat image loaded at 1 MiB.
struct Aout {
  std::uint32_t header_addr = kLoad, load_addr = kLoad, load_end_addr = kLoad + 0x100, bss_end_addr = kLoad + 0x1000,
                entry_addr = kLoad + 0x40;
  std::size_t size = 0x100;

  Bytes build() const {
    Bytes image(size, 0xf4);
    put_header(image, 0, 0x10003);
    put(image, 12, header_addr);
    put(image, 16, load_addr);
    put(image, 20, load_end_addr);
    put(image, 24, bss_end_addr);
    put(image, 28, entry_addr);
    image.resize(size);
    return image;
  }
};

// A vmlinux (ELF64 x86-64): one PT_LOAD of `filesz` file bytes at 16 MiB,
// `memsz` in memory, entering at `entry`; the file `file_bytes` long (by
// default, all the segment needs).
Bytes vmlinux(std::uint64_t entry, std::uint64_t filesz, std::uint64_t memsz, std::size_t file_bytes = 0) {
  Bytes image(file_bytes ? file_bytes : 0x1000 + filesz, 0xf4);
  Elf64_Ehdr ehdr{};
  std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
  ehdr.e_ident[EI_CLASS] = ELFCLASS64;
  ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
  ehdr.e_type = ET_EXEC;
  ehdr.e_machine = EM_X86_64;
  ehdr.e_entry = entry;
  ehdr.e_phoff = sizeof ehdr;
  ehdr.e_phentsize = sizeof(Elf64_Phdr);
  ehdr.e_phnum = 1;
  put(image, 0, ehdr);
  Elf64_Phdr phdr{};
  phdr.p_type = PT_LOAD;
  phdr.p_offset = 0x1000;
  phdr.p_paddr = 0x1000000;
  phdr.p_filesz = filesz;
  phdr.p_memsz = memsz;
  put(image, sizeof ehdr, phdr);
  return image;
}

struct Case {
  const char* name;
  std::function<Bytes()> image;
  std::string message;  // the whole stderr line after "vmm: "; KERNEL stands for the file's path
  std::vector<std::string> extra_args = {};
};

Elf32 elf_with(const std::function<void(Elf32&)>& change) {
  Elf32 elf;
  change(elf);
  return elf;
}

std::vector<Case> cases() {
  const std::string not_multiboot =
      "kernel KERNEL: not a kernel vmm can boot: no Multiboot v1 header (magic 0x1BADB002 in the first 8 KiB), no "
      "Linux setup header (\"HdrS\" at 0x202) and not an ELF64 x86-64 vmlinux";
  return {
      {"no_multiboot_header", [] { return Bytes(100000, 0x90); }, not_multiboot},
      {"header_past_8_KiB",
       [] {
         Bytes moved(9000, 0);
         put_header(moved, 9000, 0x10003);  // in the file, past where Multiboot says to look
         return moved;
       },
       not_multiboot},
      {"empty_file", [] { return Bytes{}; }, not_multiboot},
      {"linux_bzimage_protocol_too_old",
       [] {
         Bytes image(0x4000, 0);
         image[0x1f1] = 4;                      // setup_sects
         put(image, 0x1fe, std::uint16_t{0xaa55});  // boot_flag
         image[0x201] = 0x66;                   // the jump over the header
         std::memcpy(image.data() + 0x202, "HdrS", 4);
         put(image, 0x206, std::uint16_t{0x0204});  // protocol 2.04
         return image;
       },
       "kernel image: boot protocol 2.4 is older than 2.06, which vmm needs"},
      {"linux_vmlinux_truncated",
       // a megabyte the file does not have
       [] { return vmlinux(0x1000000, 0x100000, 0x100000, sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr)); },
       "kernel image: ELF segment 0 lies beyond the end of the file (truncated image?)"},
      {"bad_checksum",
       [] {
         Bytes image = Elf32{}.build();
         put(image, kSegmentOffset + 8, std::uint32_t{0x12345678});
         return image;
       },
       "kernel image: Multiboot header has a bad checksum"},
      {"unsupported_requirement", [] { return elf_with([](Elf32& e) { e.flags = 0x3 | 0x8; }).build(); },
       "kernel image: Multiboot header requires features vmm does not provide (flags 0x8)"},
      {"neither_elf_nor_aout",
       [] {
         Bytes image(0x100, 0);
         put_header(image, 0, 0x3);
         return image;
       },
       "kernel image: not an ELF file, and its Multiboot header does not ask for the a.out kludge (flag bit 16)"},
      {"elf_big_endian", [] { return elf_with([](Elf32& e) { e.ehdr.e_ident[EI_DATA] = ELFDATA2MSB; }).build(); },
       "kernel image: ELF file is not little-endian"},
      {"elf32_not_i386", [] { return elf_with([](Elf32& e) { e.ehdr.e_machine = EM_ARM; }).build(); },
       "kernel image: ELF32 file is not for i386"},
      {"elf_unknown_class", [] { return elf_with([](Elf32& e) { e.ehdr.e_ident[EI_CLASS] = 7; }).build(); },
       "kernel image: unknown ELF class 7"},
      {"elf_not_executable", [] { return elf_with([](Elf32& e) { e.ehdr.e_type = ET_DYN; }).build(); },
       "kernel image: ELF file is not an executable (e_type 3)"},
      {"elf_phentsize_lies", [] { return elf_with([](Elf32& e) { e.ehdr.e_phentsize = 40; }).build(); },
       "kernel image: ELF program header size 40"},
      {"elf_no_program_headers", [] { return elf_with([](Elf32& e) { e.phdrs.clear(); }).build(); },
       "kernel image: ELF file has no program headers"},
      {"elf_program_headers_past_the_end",
       [] {
         return elf_with([](Elf32& e) {
                  e.ehdr.e_phoff = 0x2000;
                  e.ehdr.e_phnum = 1;
                }).build();
       },
       "kernel image: ELF program header table lies beyond the end of the file"},
      {"elf_filesz_above_memsz", [] { return elf_with([](Elf32& e) { e.phdrs[0].p_memsz = 16; }).build(); },
       "kernel image: ELF segment 0 has a file size larger than its memory size"},
      {"elf_segment_truncated", [] { return elf_with([](Elf32& e) { e.phdrs[0].p_filesz = 0x10000; e.phdrs[0].p_memsz = 0x10000; }).build(); },
       "kernel image: ELF segment 0 lies beyond the end of the file (truncated image?)"},
      {"elf_segment_wraps",
       [] {
         return elf_with([](Elf32& e) {
                  e.phdrs[0].p_paddr = 0xfffff000;
                  e.phdrs[0].p_memsz = 0x2000;
                }).build();
       },
       "kernel image: ELF segment 0 wraps around the address space"},
      {"elf_no_loadable_segment", [] { return elf_with([](Elf32& e) { e.phdrs[0].p_type = PT_NOTE; }).build(); },
       "kernel image: ELF file has no loadable segment"},
      {"elf_overlapping_segments",
       [] {
         return elf_with([](Elf32& e) {
                  Elf32_Phdr second = e.phdrs[0];
                  second.p_paddr = second.p_vaddr = kLoad + 0x800;
                  e.phdrs.push_back(second);
                }).build();
       },
       "kernel image: ELF segments at 0x100000 and 0x100800 overlap"},
      {"elf_segment_outside_ram", [] { return elf_with([](Elf32& e) { e.phdrs[0].p_paddr = 0x40000000; }).build(); },
       "kernel image: segment [0x40000000, 0x40001040) is outside guest RAM (64 MiB); give the VM more memory or check the "
       "image"},
      {"elf_absurd_memsz", [] { return elf_with([](Elf32& e) { e.phdrs[0].p_memsz = 0xefff0000; }).build(); },
       "kernel image: segment [0x100000, 0xf00f0000) is outside guest RAM (64 MiB); give the VM more memory or check "
       "the image"},
      {"elf_over_the_mp_table",
       [] {
         return elf_with([](Elf32& e) {
                  e.phdrs[0].p_paddr = e.phdrs[0].p_vaddr = 0xf1000;
                  e.ehdr.e_entry = 0xf1020;
                }).build();
       },
       "kernel KERNEL: its image [0xf1000, 0xf2040) overlaps [0xf0000, 0xf3000), where vmm puts the MP and ACPI tables; "
       "link the "
       "kernel at 1 MiB or above"},
      {"aout_header_truncated", [] { return Aout{.size = 20}.build(); }, "kernel image: a.out kludge header is truncated"},
      {"aout_header_addr_below_load_addr", [] { return Aout{.load_addr = kLoad + 0x10}.build(); },
       "kernel image: a.out kludge: header_addr 0x100000 and load_addr 0x100010 put the load start before the file"},
      {"aout_load_end_below_load", [] { return Aout{.load_end_addr = kLoad - 0x10}.build(); },
       "kernel image: a.out kludge: load_end_addr is below load_addr"},
      {"aout_load_end_past_the_file", [] { return Aout{.load_end_addr = kLoad + 0x100000}.build(); },
       "kernel image: a.out kludge: load_end_addr 0x200000 lies beyond the end of the file"},
      {"aout_bss_end_below_load_end", [] { return Aout{.bss_end_addr = kLoad + 0x80}.build(); },
       "kernel image: a.out kludge: bss_end_addr is below load_end_addr"},
      // Entry points outside the bytes a loader wrote: a guest would run
      // memory vmm never loaded (a crash, or a hang until the timeout).
      {"aout_entry_beyond_the_load_range", [] { return Aout{.entry_addr = kLoad + 0x2000}.build(); },
       "kernel image: entry point 0x102000 is not in the bytes the image loads ([0x100000, 0x100100)); a kernel "
       "there would run memory vmm never wrote"},
      {"aout_entry_in_bss", [] { return Aout{.entry_addr = kLoad + 0x800}.build(); },
       "kernel image: entry point 0x100800 is not in the bytes the image loads ([0x100000, 0x100100)); a kernel "
       "there would run memory vmm never wrote"},
      {"aout_entry_below_the_load_range", [] { return Aout{.entry_addr = kLoad - 4}.build(); },
       "kernel image: entry point 0xffffc is not in the bytes the image loads ([0x100000, 0x100100)); a kernel "
       "there would run memory vmm never wrote"},
      {"elf_entry_zero", [] { return elf_with([](Elf32& e) { e.ehdr.e_entry = 0; }).build(); },
       "kernel image: entry point 0x0 is not in the bytes the image loads ([0x100000, 0x100040)); a kernel there "
       "would run memory vmm never wrote"},
      {"elf_entry_in_bss", [] { return elf_with([](Elf32& e) { e.ehdr.e_entry = kLoad + 0x100; }).build(); },
       "kernel image: entry point 0x100100 is not in the bytes the image loads ([0x100000, 0x100040)); a kernel "
       "there would run memory vmm never wrote"},
      {"linux_vmlinux_entry_in_bss", [] { return vmlinux(0x1000000 + 0x800, 0x100, 0x1000); },
       "kernel image: entry point 0x1000800 is not in the bytes the image loads ([0x1000000, 0x1000100)); a kernel "
       "there would run memory vmm never wrote"},
      {"linux_vmlinux_entry_past_the_kernel", [] { return vmlinux(0x2000000, 0x100, 0x100); },
       "kernel image: entry point 0x2000000 is not in the bytes the image loads ([0x1000000, 0x1000100)); a kernel "
       "there would run memory vmm never wrote"},
      {"module_does_not_fit", [] { return Aout{}.build(); },
       "module 0 (3145728 bytes) does not fit in guest RAM after the kernel; give the VM more memory",
       {"--memory", "3", "--initrd", "MODULE"}},
  };
}

std::string write_file(const std::string& name, const Bytes& bytes) {
  const std::string path = scratch_path(name);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string replaced(std::string text, const std::string& word, const std::string& with) {
  for (std::size_t at; (at = text.find(word)) != std::string::npos;) text.replace(at, word.size(), with);
  return text;
}

class BadImage : public ::testing::TestWithParam<Case> {};

TEST_P(BadImage, IsOneLineAndStatusTwo) {
  const Case& c = GetParam();
  const std::string kernel = write_file(std::string(c.name) + ".elf", c.image());
  const std::string module = write_file(std::string(c.name) + ".module", Bytes(3 << 20, 0x5a));
  // The embedded default config gives 64 MiB of RAM.
  std::vector<std::string> args = {"run", "--kernel", kernel, "--timeout", "20s"};
  for (const auto& arg : c.extra_args) args.push_back(replaced(arg, "MODULE", module));
  const auto result = run_vmm(args);
  EXPECT_FALSE(result.hung);
  EXPECT_EQ(result.exit_status, 2) << result.err << result.out;
  EXPECT_EQ(result.err, "vmm: " + replaced(c.message, "KERNEL", kernel) + "\n");
  EXPECT_EQ(result.out, "") << "no guest may run";
}

INSTANTIATE_TEST_SUITE_P(Multiboot, BadImage, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vmm::testing
