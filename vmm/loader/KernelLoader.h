#pragma once
// Loads the kernel a config names into guest memory, by the image's format:
// Multiboot v1 (with its modules and the initrd as the first module), or the
// Linux boot protocol (bzImage or vmlinux, with an initrd). Keeps the BIOS area
// where vmm writes the MP and ACPI tables clear. A bad image, or options its
// format cannot take, is an InputError naming what is wrong.

#include <cstdint>
#include <string>
#include <vector>

#include "vmm/Config.h"
#include "vmm/GuestMemory.h"
#include "vmm/loader/EntryState.h"

namespace vmm {

struct KernelImage {
  std::string name;  // first word of the Multiboot command line, as GRUB and QEMU pass it
  std::vector<std::uint8_t> bytes;
};

EntryState load_kernel(const VmConfig& config, const KernelImage& kernel, GuestMemory& memory);

}  // namespace vmm
