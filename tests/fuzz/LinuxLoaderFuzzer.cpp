// libFuzzer target for the Linux loader: any bzImage setup header or vmlinux
// ELF, any command line and initrd, into a small guest RAM. A bad image is an
// InputError; a loaded one enters inside its kernel, and its zero page,
// command line and initrd lie in RAM, clear of the kernel and of each other.

#include <asm/bootparam.h>
#include <elf.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <vector>

#include "FuzzCheck.h"
#include "vmm/Errors.h"
#include "vmm/GuestMemory.h"
#include "vmm/loader/LinuxLoader.h"
#include "vmm/loader/LongModeEntry.h"

namespace {

// The magic of one format or the other, so the fuzzer need not find it byte by byte.
void plant_magic(std::vector<std::uint8_t>& image, bool bzimage) {
  if (bzimage) {
    if (image.size() < 0x270) image.resize(0x270);
    std::memcpy(image.data() + 0x202, "HdrS", 4);
    return;
  }
  if (image.size() < sizeof(Elf64_Ehdr)) image.resize(sizeof(Elf64_Ehdr));
  const std::uint8_t ident[] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT};
  std::memcpy(image.data(), ident, sizeof ident);
  const std::uint16_t machine = EM_X86_64;
  std::memcpy(image.data() + offsetof(Elf64_Ehdr, e_machine), &machine, sizeof machine);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const std::uint64_t ram_mib = input.ConsumeIntegralInRange<std::uint64_t>(2, 24);
  const int plant = input.ConsumeIntegralInRange(0, 2);
  vmm::LinuxBootOptions options;
  options.cmdline = input.ConsumeRandomLengthString(4096);
  if (input.ConsumeBool()) options.initrd = input.ConsumeBytes<std::uint8_t>(input.ConsumeIntegralInRange(1, 1 << 20));
  std::vector<std::uint8_t> image = input.ConsumeRemainingBytes<std::uint8_t>();
  if (plant > 0) plant_magic(image, plant == 1);

  vmm::GuestMemory memory(ram_mib << 20);
  try {
    vmm::LinuxBootLayout layout;
    const vmm::EntryState entry = vmm::LinuxLoader::load(image, memory, options, &layout);
    FUZZ_CHECK(entry.mode == vmm::EntryState::Mode::Long64);
    FUZZ_CHECK(entry.rip >= layout.kernel_start && entry.rip < layout.kernel_end);
    FUZZ_CHECK(entry.rsi == layout.boot_params && memory.contains(layout.boot_params, sizeof(boot_params)));
    FUZZ_CHECK(layout.kernel_start >= vmm::long_mode::kTablesEnd && layout.kernel_end <= memory.low_end());
    FUZZ_CHECK(memory.contains(layout.cmdline, options.cmdline.size() + 1));
    FUZZ_CHECK(layout.cmdline + options.cmdline.size() < layout.kernel_start);
    if (!options.initrd.empty()) {
      FUZZ_CHECK(layout.initrd_start >= layout.kernel_end && layout.initrd_end <= memory.low_end());
      FUZZ_CHECK(layout.initrd_end - layout.initrd_start == options.initrd.size());
    }
  } catch (const vmm::InputError&) {
    // A bad image, reported.
  }
  return 0;
}
