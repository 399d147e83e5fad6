#include "vmm/loader/KernelLoader.h"

#include "vmm/Errors.h"
#include "vmm/FileUtil.h"
#include "vmm/Hex.h"
#include "vmm/boot/AcpiTables.h"
#include "vmm/boot/MpTable.h"
#include "vmm/loader/LinuxLoader.h"
#include "vmm/loader/MultibootLoader.h"

namespace vmm {

namespace {

constexpr std::uint64_t kMaxModuleBytes = 1ull << 30;

EntryState load_multiboot(const VmConfig& config, const KernelImage& kernel, GuestMemory& memory) {
  MultibootOptions boot;
  boot.cmdline = kernel.name + (config.cmdline.empty() ? "" : " " + config.cmdline);
  if (config.initrd)
    boot.modules.push_back(
        {read_input_file(*config.initrd, "initrd", kMaxModuleBytes), config.initrd->filename().string()});
  for (const auto& module : config.modules)
    boot.modules.push_back({read_input_file(module.path, "module", kMaxModuleBytes), module.cmdline});
  MultibootLayout layout;
  EntryState entry = MultibootLoader::load(kernel.bytes, memory, boot, &layout);
  // The MP and ACPI tables go at the start of the BIOS area; a kernel that
  // loads there, or whose modules and boot information land there, would lose
  // bytes to them (or corrupt them). The Linux loader keeps everything out.
  static_assert(MpTable::kReservedEnd <= AcpiTables::kBase, "the ACPI tables follow the MP table");
  const std::uint64_t tables_end = config.acpi ? AcpiTables::kReservedEnd : MpTable::kReservedEnd;
  auto keep_clear = [&](std::uint64_t start, std::uint64_t end, const std::string& what) {
    if (start < tables_end && MpTable::kFloatingPointerAddress < end)
      throw InputError("kernel " + kernel.name + ": " + what + " [" + hex(start) + ", " + hex(end) + ") overlaps [" +
                       hex(MpTable::kFloatingPointerAddress) + ", " + hex(tables_end) + "), where vmm puts the MP " +
                       (config.acpi ? "and ACPI tables" : "table") + "; link the kernel at 1 MiB or above");
  };
  keep_clear(layout.kernel_start, layout.kernel_end, "its image");
  for (const auto& [start, end] : layout.modules) keep_clear(start, end, "a module");
  keep_clear(layout.info_address, layout.info_end, "the Multiboot information");
  return entry;
}

EntryState load_linux(const VmConfig& config, const KernelImage& kernel, GuestMemory& memory,
                      LinuxLoader::Format format) {
  if (!config.modules.empty())
    throw InputError("kernel " + kernel.name + " is a Linux " + LinuxLoader::name(format) +
                     ", which takes an initrd, not modules; use \"initrd\" (or --initrd)");
  LinuxBootOptions boot;
  boot.cmdline = config.cmdline;
  if (config.acpi) boot.acpi_rsdp = AcpiTables::kRsdpAddress;
  if (config.initrd) boot.initrd = read_input_file(*config.initrd, "initrd", kMaxModuleBytes);
  return LinuxLoader::load(kernel.bytes, memory, boot);
}

}  // namespace

EntryState load_kernel(const VmConfig& config, const KernelImage& kernel, GuestMemory& memory) {
  if (MultibootLoader::recognizes(kernel.bytes)) return load_multiboot(config, kernel, memory);
  if (const auto format = LinuxLoader::recognize(kernel.bytes)) return load_linux(config, kernel, memory, *format);
  throw InputError(
      "kernel " + kernel.name +
      ": not a kernel vmm can boot: no Multiboot v1 header (magic 0x1BADB002 in the first 8 KiB), no Linux "
      "setup header (\"HdrS\" at 0x202) and not an ELF64 x86-64 vmlinux");
}

}  // namespace vmm
