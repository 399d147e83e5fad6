#pragma once
// `vmm ctl stats` for a person: the VM's stats JSON as a few short tables
// (lines, exits, interrupts, vCPUs, serial, memory, the GDB stub), without the
// raw latency histograms; `--json` prints the JSON itself. Pure, so the
// layout is unit-tested.

#include <nlohmann/json.hpp>
#include <string>

namespace vmm {

// Tolerates missing or mistyped fields (an older or newer vmm): they are left out.
std::string format_stats(const nlohmann::json& stats);

}  // namespace vmm
