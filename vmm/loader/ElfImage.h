#pragma once
// The loadable segments of an ELF32 or ELF64 executable, checked against the
// file: what the Multiboot and vmlinux loaders both place by physical address.
// A malformed image is an InputError ("kernel image: ...") naming what is
// wrong; nothing here touches guest memory.

#include <cstdint>
#include <span>
#include <vector>

namespace vmm {

struct ElfSegment {
  std::uint64_t file_offset;
  std::uint64_t file_size;
  std::uint64_t address;  // p_paddr
  std::uint64_t memory_size;
};

struct ElfPlan {
  std::vector<ElfSegment> segments;  // PT_LOAD with a memory size, in file order, none overlapping
  // e_entry, moved to its physical address when it lies in a segment's
  // virtual range (as GRUB does); e_entry as it is otherwise.
  std::uint64_t entry = 0;
  bool is_64bit = false;
};

// True when the image starts with the ELF magic.
bool is_elf_image(std::span<const std::uint8_t> image);
// True for an ELF64 little-endian x86-64 file.
bool is_elf64_x86_64(std::span<const std::uint8_t> image);

// Throws InputError for anything but a well-formed i386 or x86-64 executable.
ElfPlan plan_elf_image(std::span<const std::uint8_t> image);

// Throws InputError unless `entry` lies in the bytes some segment loads from
// the file: an entry point elsewhere (0, past the image, in zero-filled bss,
// in a gap between segments) would run memory the loader never wrote. Every
// loader whose format names its entry point checks it with this.
void check_entry_is_loaded(const std::vector<ElfSegment>& segments, std::uint64_t entry);

}  // namespace vmm
