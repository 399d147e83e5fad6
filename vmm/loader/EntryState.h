#pragma once
// What a kernel loader hands to the vCPU set-up: the CPU mode the boot protocol
// promises at entry and the registers it defines. Multiboot enters in flat 32-bit
// protected mode; the Linux boot protocol will add a 64-bit entry here.

#include <cstdint>

namespace vmm {

struct EntryState {
  enum class Mode {
    Protected32Flat,  // CR0.PE, paging off, flat 4 GiB CS/DS, interrupts off
  };
  Mode mode = Mode::Protected32Flat;
  std::uint64_t rip = 0;
  std::uint64_t rax = 0;
  std::uint64_t rbx = 0;
  std::uint64_t rsi = 0;
};

}  // namespace vmm
