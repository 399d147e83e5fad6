#include "vmm/loader/ElfImage.h"

#include <elf.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "vmm/Errors.h"
#include "vmm/loader/ImageError.h"

namespace vmm {

namespace {

using loader::bad_image;
using loader::hex;

template <typename Ehdr, typename Phdr>
ElfPlan plan_elf(std::span<const std::uint8_t> image) {
  if (image.size() < sizeof(Ehdr)) bad_image("ELF header is truncated");
  Ehdr ehdr;
  std::memcpy(&ehdr, image.data(), sizeof ehdr);
  if (ehdr.e_type != ET_EXEC) bad_image("ELF file is not an executable (e_type " + std::to_string(ehdr.e_type) + ")");
  if (ehdr.e_phentsize != sizeof(Phdr)) bad_image("ELF program header size " + std::to_string(ehdr.e_phentsize));
  if (ehdr.e_phnum == 0) bad_image("ELF file has no program headers");
  const std::uint64_t table_size = std::uint64_t{ehdr.e_phnum} * sizeof(Phdr);
  if (ehdr.e_phoff > image.size() || table_size > image.size() - ehdr.e_phoff)
    bad_image("ELF program header table lies beyond the end of the file");
  ElfPlan plan{{}, ehdr.e_entry, sizeof(Ehdr) == sizeof(Elf64_Ehdr)};
  bool entry_translated = false;
  for (unsigned i = 0; i < ehdr.e_phnum; ++i) {
    Phdr phdr;
    std::memcpy(&phdr, image.data() + ehdr.e_phoff + i * sizeof(Phdr), sizeof phdr);
    if (phdr.p_type != PT_LOAD || phdr.p_memsz == 0) continue;
    const std::string name = "ELF segment " + std::to_string(i);
    if (phdr.p_filesz > phdr.p_memsz) bad_image(name + " has a file size larger than its memory size");
    if (phdr.p_offset > image.size() || phdr.p_filesz > image.size() - phdr.p_offset)
      bad_image(name + " lies beyond the end of the file (truncated image?)");
    if (phdr.p_paddr + phdr.p_memsz < phdr.p_paddr) bad_image(name + " wraps around the address space");
    plan.segments.push_back({phdr.p_offset, phdr.p_filesz, phdr.p_paddr, phdr.p_memsz});
    // Multiboot loads by physical address; an entry given as a virtual address
    // inside a segment is moved with it, as GRUB does.
    if (!entry_translated && ehdr.e_entry >= phdr.p_vaddr && ehdr.e_entry - phdr.p_vaddr < phdr.p_memsz) {
      plan.entry = ehdr.e_entry - phdr.p_vaddr + phdr.p_paddr;
      entry_translated = true;
    }
  }
  if (plan.segments.empty()) bad_image("ELF file has no loadable segment");
  // Two segments over the same memory would leave it to the loading order
  // which one the kernel gets: no linker emits that, so the image is broken.
  for (std::size_t a = 0; a < plan.segments.size(); ++a)
    for (std::size_t b = a + 1; b < plan.segments.size(); ++b) {
      const auto& first = plan.segments[a];
      const auto& second = plan.segments[b];
      if (first.address < second.address + second.memory_size && second.address < first.address + first.memory_size)
        bad_image("ELF segments at " + hex(first.address) + " and " + hex(second.address) + " overlap");
    }
  return plan;
}

}  // namespace

bool is_elf_image(std::span<const std::uint8_t> image) {
  return image.size() >= EI_NIDENT && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0;
}

bool is_elf64_x86_64(std::span<const std::uint8_t> image) {
  return is_elf_image(image) && image.size() >= sizeof(Elf64_Ehdr) && image[EI_CLASS] == ELFCLASS64 &&
         image[EI_DATA] == ELFDATA2LSB && reinterpret_cast<const Elf64_Ehdr*>(image.data())->e_machine == EM_X86_64;
}

ElfPlan plan_elf_image(std::span<const std::uint8_t> image) {
  if (!is_elf_image(image)) bad_image("not an ELF file");
  if (image[EI_DATA] != ELFDATA2LSB) bad_image("ELF file is not little-endian");
  if (image[EI_CLASS] == ELFCLASS32) {
    if (image.size() >= sizeof(Elf32_Ehdr) && reinterpret_cast<const Elf32_Ehdr*>(image.data())->e_machine != EM_386)
      bad_image("ELF32 file is not for i386");
    return plan_elf<Elf32_Ehdr, Elf32_Phdr>(image);
  }
  if (image[EI_CLASS] == ELFCLASS64) {
    if (image.size() >= sizeof(Elf64_Ehdr) &&
        reinterpret_cast<const Elf64_Ehdr*>(image.data())->e_machine != EM_X86_64)
      bad_image("ELF64 file is not for x86-64");
    return plan_elf<Elf64_Ehdr, Elf64_Phdr>(image);
  }
  bad_image("unknown ELF class " + std::to_string(image[EI_CLASS]));
}
void check_entry_is_loaded(const std::vector<ElfSegment>& segments, std::uint64_t entry) {
  std::string loaded;
  for (const auto& segment : segments) {
    if (entry >= segment.address && entry - segment.address < segment.file_size) return;
    if (segment.file_size == 0) continue;
    loaded += (loaded.empty() ? "" : ", ") + std::string("[") + hex(segment.address) + ", " +
              hex(segment.address + segment.file_size) + ")";
  }
  bad_image("entry point " + hex(entry) + " is not in the bytes the image loads (" +
            (loaded.empty() ? std::string("none") : loaded) + "); a kernel there would run memory vmm never wrote");
}

}  // namespace vmm
