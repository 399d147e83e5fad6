#pragma once
// What a kernel loader hands to the vCPU set-up: the CPU mode the boot protocol
// promises at entry and the registers it defines. Multiboot enters in flat 32-bit
// protected mode; Linux's 64-bit boot protocol in long mode with an identity map.

#include <cstdint>

namespace vmm {

struct EntryState {
  enum class Mode {
    Protected32Flat,  // CR0.PE, paging off, flat 4 GiB CS/DS (0x10/0x18), interrupts off
    Long64,           // CR0.PG, CR4.PAE, EFER.LME/LMA, CR3 and the GDT below; CS 0x10, DS/SS 0x18
  };
  enum class Protocol { Multiboot, Linux };
  Protocol protocol = Protocol::Multiboot;
  Mode mode = Mode::Protected32Flat;
  std::uint64_t rip = 0;
  std::uint64_t rax = 0;
  std::uint64_t rbx = 0;
  std::uint64_t rsi = 0;
  // Long64 only: the page tables and the GDT the loader wrote.
  std::uint64_t cr3 = 0;
  std::uint64_t gdt_base = 0;
  std::uint16_t gdt_limit = 0;
};

}  // namespace vmm
