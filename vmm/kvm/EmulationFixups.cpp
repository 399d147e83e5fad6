#include "vmm/kvm/EmulationFixups.h"

#include <algorithm>
#include <array>

namespace vmm {

namespace {

constexpr std::uint8_t kBreakpointVector = 3;

struct Entry {
  std::array<std::uint8_t, 1> bytes;
  EmulationFixup fixup;
};

constexpr Entry kTable[] = {
    {{0xCC}, {EmulationFixup::Kind::Int3, "int3", 1, kBreakpointVector}},
    {{0x9B}, {EmulationFixup::Kind::Fwait, "fwait", 1, std::nullopt}},
};

}  // namespace

std::optional<EmulationFixup> EmulationFixup::find(std::span<const std::uint8_t> instruction_bytes, unsigned cpl) {
  // Ring 3 never runs in the emulator on the hosts that need this, and an
  // fwait there could have a task's x87 exception to deliver: not ours to skip.
  if (cpl != 0) return std::nullopt;
  for (const auto& entry : kTable)
    if (instruction_bytes.size() >= entry.bytes.size() &&
        std::equal(entry.bytes.begin(), entry.bytes.end(), instruction_bytes.begin()))
      return entry.fixup;
  return std::nullopt;
}

std::string_view EmulationFixup::name(Kind kind) {
  for (const auto& entry : kTable)
    if (entry.fixup.kind == kind) return entry.fixup.instruction;
  return "unknown";
}

}  // namespace vmm
