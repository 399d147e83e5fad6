// libFuzzer target for the config parser, the injection timeline parser and the
// --serial option: any bytes are either a valid config or an InputError naming
// what is wrong, never another exception, a crash or a hang. A config that
// parses must satisfy every rule the parser promises (the limits below are the
// ones docs/config.md documents), and parsing its own fields again must accept
// them.

#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "FuzzCheck.h"
#include "vmm/Config.h"
#include "vmm/Errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const int which = input.ConsumeIntegralInRange(0, 2);
  const std::string text = input.ConsumeRemainingBytesAsString();
  try {
    switch (which) {
      case 0: {
        const vmm::VmConfig config = vmm::parse_config(text, "fuzz.json", "/fuzz");
        FUZZ_CHECK(config.memory_mib >= vmm::VmConfig::kMinMemoryMib && config.memory_mib <= vmm::VmConfig::kMaxMemoryMib);
        FUZZ_CHECK(config.vcpus >= 1 && config.vcpus <= vmm::VmConfig::kMaxVcpus);
        FUZZ_CHECK(config.timeout.count() >= 0);
        for (const auto& event : config.inject) {
          FUZZ_CHECK(event.at.count() >= 0 && event.interval.count() >= 0);
          FUZZ_CHECK(event.line.empty() != event.serial.empty() || (event.line.empty() && event.serial.empty()));
          if (!event.line.empty()) {
            bool known = false;
            for (const auto& line : config.irq_lines)
              known = known || line.name == event.line || std::to_string(line.gsi) == event.line;
            FUZZ_CHECK(known);
          }
        }
        // The same lines again, as --inject FILE would check a timeline against them.
        vmm::parse_inject_file("[]", "fuzz-inject.json", config.irq_lines);
        break;
      }
      case 1:
        vmm::parse_inject_file(text, "fuzz-inject.json", {});
        break;
      default:
        vmm::parse_serial_option(text);
        break;
    }
  } catch (const vmm::InputError&) {
    // The one way bad input may end.
  }
  return 0;
}
