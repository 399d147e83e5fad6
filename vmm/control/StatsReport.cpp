#include "vmm/control/StatsReport.h"

#include <cstdio>
#include <string_view>
#include <vector>

#include "vmm/TextTable.h"

namespace vmm {

namespace {

using Json = nlohmann::json;

std::uint64_t number(const Json& object, std::string_view key) {
  if (!object.is_object()) return 0;
  const auto it = object.find(key);
  return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::string text(const Json& object, std::string_view key) {
  if (!object.is_object()) return "";
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string microseconds(std::uint64_t ns) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f us", static_cast<double>(ns) / 1000.0);
  return out;
}

std::string mebibytes(std::uint64_t bytes) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return out;
}

// A {"name": count} object as a two-column table, in the object's key order.
void counts(std::string& out, const char* title, const char* key_header, const Json& object) {
  if (!object.is_object() || object.empty()) return;
  TextTable table({key_header, "count"});
  for (const auto& [key, value] : object.items())
    if (value.is_number_unsigned()) table.add({key, std::to_string(value.get<std::uint64_t>())});
  out += std::string(title) + "\n" + table.render();
}

}  // namespace

std::string format_stats(const Json& stats) {
  if (!stats.is_object()) return stats.dump() + "\n";  // nothing to lay out: show what came
  std::string out;
  if (stats.contains("paused") && stats["paused"].is_boolean())
    out += std::string("state: ") + (stats["paused"].get<bool>() ? "paused" : "running") + "\n";

  if (stats.contains("lines") && stats["lines"].is_array() && !stats["lines"].empty()) {
    TextTable lines({"line", "gsi", "injected", "delivered", "coalesced", "spurious", "pending", "p50", "p99", "max"});
    for (const auto& line : stats["lines"]) {
      const Json latency = line.is_object() && line.contains("latency_ns") ? line["latency_ns"] : Json::object();
      const bool measured = number(latency, "samples") > 0;
      lines.add({text(line, "name"), std::to_string(number(line, "gsi")), std::to_string(number(line, "injected")),
                 std::to_string(number(line, "delivered")), std::to_string(number(line, "coalesced")),
                 std::to_string(number(line, "spurious")), std::to_string(number(line, "pending")),
                 measured ? microseconds(number(latency, "p50")) : "-",
                 measured ? microseconds(number(latency, "p99")) : "-",
                 measured ? microseconds(number(latency, "max")) : "-"});
    }
    out += "interrupt lines (latency: injection to the guest's acknowledgement)\n" + lines.render();
  }
  counts(out, "exits by reason", "reason", stats.value("exits", Json::object()));
  counts(out, "interrupts by GSI", "gsi", stats.value("interrupts_by_gsi", Json::object()));

  if (stats.contains("vcpus") && stats["vcpus"].is_array() && !stats["vcpus"].empty()) {
    TextTable vcpus({"vcpu", "exits", "halt exits", "halted", "scripted irqs"});
    for (const auto& vcpu : stats["vcpus"]) {
      std::uint64_t exits = 0, irqs = 0;
      if (vcpu.is_object() && vcpu.contains("exits") && vcpu["exits"].is_object())
        for (const auto& [reason, count] : vcpu["exits"].items()) exits += count.is_number_unsigned() ? count.get<std::uint64_t>() : 0;
      if (vcpu.is_object() && vcpu.contains("interrupts") && vcpu["interrupts"].is_object())
        for (const auto& [gsi, count] : vcpu["interrupts"].items()) irqs += count.is_number_unsigned() ? count.get<std::uint64_t>() : 0;
      const bool have_halts = vcpu.is_object() && vcpu.contains("halt_wait_ns");
      char halted[32];
      std::snprintf(halted, sizeof halted, "%.1f ms", static_cast<double>(number(vcpu, "halt_wait_ns")) / 1e6);
      vcpus.add({std::to_string(number(vcpu, "id")), std::to_string(exits),
                 have_halts ? std::to_string(number(vcpu, "halt_exits")) : "-", have_halts ? halted : "-",
                 std::to_string(irqs)});
    }
    out += "vCPUs\n" + vcpus.render();
  }
  if (const Json serial = stats.value("serial", Json::object()); serial.is_object() && !serial.empty())
    out += "serial: " + std::to_string(number(serial, "bytes_out")) + " bytes out, " +
           std::to_string(number(serial, "bytes_delivered")) + " delivered, " +
           std::to_string(number(serial, "bytes_discarded")) + " discarded\n";
  if (const Json memory = stats.value("memory", Json::object()); memory.is_object() && !memory.empty())
    out += "memory: " + mebibytes(number(memory, "guest_bytes")) + " guest, " +
           mebibytes(number(memory, "guest_resident_bytes")) + " resident\n";
  if (const Json pit = stats.value("pit", Json::object()); pit.is_object() && !pit.empty())
    out += "pit: " + std::to_string(number(pit, "irq_edges")) + " IRQ0 edges, " +
           std::to_string(number(pit, "late_edges")) + " late, " + std::to_string(number(pit, "dropped_reinjects")) +
           " reinjections dropped, " + std::to_string(number(pit, "lost_eois")) + " EOIs taken as lost\n";
  if (const Json gdb = stats.value("gdb", Json::object()); gdb.is_object() && !gdb.empty())
    out += "gdb: " + text(gdb, "endpoint") + ", " + std::to_string(number(gdb, "clients")) + " client(s), " +
           std::to_string(number(gdb, "refused_clients")) + " refused, " + std::to_string(number(gdb, "packets")) +
           " packets, " + std::to_string(number(gdb, "bad_checksums")) + " bad checksums\n";
  if (const Json fixups = stats.value("emulation_fixups", Json::object()); fixups.is_object()) {
    std::string counted;
    for (const auto& [instruction, count] : fixups.items())
      if (count.is_number_unsigned() && count.get<std::uint64_t>() > 0)
        counted += (counted.empty() ? "" : ", ") + instruction + " " + std::to_string(count.get<std::uint64_t>());
    if (!counted.empty()) out += "emulation fix-ups: " + counted + "\n";
  }
  if (const Json trace = stats.value("trace", Json::object()); trace.is_object() && !trace.empty())
    out += "trace: " + std::to_string(number(trace, "events_written")) + " events written, " +
           std::to_string(number(trace, "dropped_host_events")) + " host and " +
           std::to_string(number(trace, "dropped_guest_events")) + " guest events dropped\n";
  return out;
}

}  // namespace vmm
