// libFuzzer target for the Multiboot loader: any image, any module, into a small
// guest RAM. A bad image is an InputError (and, by the loader's promise, leaves
// memory untouched); a loaded one has its entry point below 4 GiB and its boot
// information inside RAM, never over the image or a module.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <vector>

#include "FuzzCheck.h"
#include "vmm/Errors.h"
#include "vmm/GuestMemory.h"
#include "vmm/loader/MultibootLoader.h"

namespace {

// The header magic, so the fuzzer need not find it byte by byte.
void plant_header(std::vector<std::uint8_t>& image, std::size_t offset, std::uint32_t flags) {
  const std::uint32_t words[3] = {vmm::MultibootLoader::kHeaderMagic, flags,
                                  static_cast<std::uint32_t>(-(vmm::MultibootLoader::kHeaderMagic + flags))};
  if (image.size() < offset + sizeof words) image.resize(offset + sizeof words);
  std::copy_n(reinterpret_cast<const std::uint8_t*>(words), sizeof words, image.begin() + offset);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const std::uint64_t ram_mib = input.ConsumeIntegralInRange<std::uint64_t>(2, 8);
  const bool planted = input.ConsumeBool();
  const auto header_offset = input.ConsumeIntegralInRange<std::size_t>(0, 8191) & ~std::size_t{3};
  const auto flags = input.ConsumeIntegral<std::uint32_t>();
  vmm::MultibootOptions options;
  options.cmdline = input.ConsumeRandomLengthString(256);
  if (input.ConsumeBool()) options.modules.push_back({input.ConsumeBytes<std::uint8_t>(input.ConsumeIntegralInRange(0, 65536)), "m"});
  std::vector<std::uint8_t> image = input.ConsumeRemainingBytes<std::uint8_t>();
  if (planted) plant_header(image, header_offset, flags);

  vmm::GuestMemory memory(ram_mib << 20);
  try {
    vmm::MultibootLayout layout;
    const vmm::EntryState entry = vmm::MultibootLoader::load(image, memory, options, &layout);
    FUZZ_CHECK(entry.rip < (1ull << 32));
    FUZZ_CHECK(entry.rbx == layout.info_address);
    FUZZ_CHECK(memory.contains(layout.info_address, 88));
    FUZZ_CHECK(layout.info_address >= layout.kernel_end);
    for (const auto& [start, end] : layout.modules) {
      FUZZ_CHECK(start >= layout.kernel_end && end <= layout.info_address);
      FUZZ_CHECK(memory.contains(start, end - start));
    }
  } catch (const vmm::InputError&) {
    // A bad image, reported.
  }
  return 0;
}
