// Scripted injection end to end: lines from the config, the timeline on the event
// loop, irqfds into KVM's PIC, IOAPIC and MSI routes, the guest's handlers and
// its acknowledgements. Counts must be exact on both sides: what vmm injected,
// what the guest counted and what vmm saw acknowledged. The guest is told to end
// its run by an NMI (nmi=finish) once vmm's counters are quiet, so no test waits
// on a guest speed.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

struct LineSpec {
  std::string name;
  unsigned gsi;
  std::string trigger;  // "edge" or "level"; MSI lines are edge
  unsigned msi_vector;  // 0: not MSI
  std::uint64_t count;
};

struct Injection {
  std::string intc;  // the guest's intc= mode
  std::vector<LineSpec> lines;
  std::uint64_t interval_us;
  bool wait_for_ack;
  unsigned vcpus = 1;
};

struct GuestLine {
  std::uint64_t count = 0, spurious = 0;
  std::string via, trigger;
};

struct Outcome {
  VmmResult result;
  nlohmann::json host;                  // vmm's counters at exit, by line name
  nlohmann::json stats;                 // all of them
  std::map<unsigned, GuestLine> guest;  // the guest's irq lines, by GSI
};

std::string guest_irqs(const std::vector<LineSpec>& lines) {
  std::string spec;
  for (const auto& line : lines) {
    if (!spec.empty()) spec += ",";
    spec += std::to_string(line.gsi);
    if (line.trigger == "level") spec += ":level";
    if (line.msi_vector) spec += ":msi" + std::to_string(line.msi_vector);
  }
  return spec;
}

nlohmann::json config_for(const Injection& injection, const std::string& socket) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& line : injection.lines) {
    nlohmann::json entry = {{"name", line.name}, {"gsi", line.gsi}};
    if (line.msi_vector)
      entry["msi"] = {{"apic_id", 0}, {"vector", line.msi_vector}};
    else
      entry["trigger"] = line.trigger;
    lines.push_back(entry);
  }
  return {{"cmdline", "tasks=2 runtime_ms=0 progress_ms=0 nmi=finish intc=" + injection.intc +
                          " irqs=" + guest_irqs(injection.lines)},
          {"timeout_ms", 300000},
          {"vcpus", injection.vcpus},
          {"control", socket},
          {"irq", {{"lines", lines}}}};
}

Outcome run_injection(const Injection& injection) {
  const std::string socket = scratch_path("sock"), config = scratch_path("json"), stats = scratch_path("stats.json");
  std::ofstream(config) << config_for(injection, socket).dump(2);
  // The bursts start once the guest's first task runs, so its handlers are in
  // place: an interrupt that comes earlier (a slow boot, under TSan or load)
  // finds the line masked or the LAPIC off and is gone, and an ack-paced burst
  // would then wait for ever for its acknowledgement.
  std::promise<void> scheduled;
  auto vm = std::async(std::launch::async, [=, &scheduled] {
    VmmRun run;
    run.args = {"run", config, "--stats", stats};
    run.limit = std::chrono::minutes(5);
    bool started = false;
    run.send_signal_when = [&](const std::string& out) {
      if (started || out.find("task id=0 state=start") == std::string::npos) return false;
      started = true;
      for (const auto& line : injection.lines)
        request(socket, {{"cmd", "inject"}, {"line", line.name}, {"count", line.count},
                         {"interval_us", injection.interval_us}, {"wait_for_ack", injection.wait_for_ack}});
      scheduled.set_value();
      return false;
    };
    return run_vmm(run);
  });

  Outcome outcome;
  if (scheduled.get_future().wait_for(std::chrono::minutes(2)) != std::future_status::ready) {
    ADD_FAILURE() << "the guest never started its first task";
    request(socket, {{"cmd", "stop"}});
  }
  wait_until_quiet(socket);
  request(socket, {{"cmd", "nmi"}});
  outcome.result = vm.get();
  // The counters at exit, not the last live ones: the guest's summary is later.
  std::ifstream stats_file(stats);
  const nlohmann::json last = nlohmann::json::parse(stats_file, nullptr, false);
  if (!last.is_object()) return outcome;
  outcome.stats = last;
  for (const auto& line : last["lines"]) outcome.host[line["name"].get<std::string>()] = line;
  for (const auto& line : lines_with_tag(outcome.result.out, "irq")) {
    GuestLine guest;
    guest.count = std::stoull(field(line, "count"));
    guest.spurious = std::stoull(field(line, "spurious"));
    guest.via = field(line, "via");
    guest.trigger = field(line, "trigger");
    outcome.guest[static_cast<unsigned>(std::stoul(field(line, "gsi")))] = guest;
  }
  return outcome;
}

std::string expected_via(const LineSpec& line, const std::string& intc) {
  if (line.msi_vector) return "msi";
  return line.gsi < 16 && intc == "pic" ? "pic" : "ioapic";
}

// Both sides agree on every line: the guest's count is vmm's "delivered", its
// spurious runs are vmm's "spurious", and vmm's books balance.
void expect_consistent(const Outcome& outcome, const Injection& injection) {
  ASSERT_EQ(outcome.result.exit_status, 0) << outcome.result.err << outcome.result.out;
  for (const auto& line : injection.lines) {
    SCOPED_TRACE("line " + line.name + " (GSI " + std::to_string(line.gsi) + ")");
    ASSERT_TRUE(outcome.host.contains(line.name));
    ASSERT_TRUE(outcome.guest.contains(line.gsi)) << outcome.result.out;
    const auto& host = outcome.host[line.name];
    const auto& guest = outcome.guest.at(line.gsi);
    EXPECT_EQ(guest.via, expected_via(line, injection.intc));
    EXPECT_EQ(guest.trigger, line.trigger);
    EXPECT_EQ(host["injected"].get<std::uint64_t>(), line.count);
    EXPECT_EQ(host["pending"].get<std::uint64_t>(), 0u);
    EXPECT_EQ(guest.count, host["delivered"].get<std::uint64_t>());
    EXPECT_EQ(guest.spurious, host["spurious"].get<std::uint64_t>());
    EXPECT_EQ(host["delivered"].get<std::uint64_t>() + host["coalesced"].get<std::uint64_t>(), line.count);
    // Every line is routed to APIC 0 (the IOAPIC's destination, the MSI's):
    // every handler runs on the boot vCPU, whatever the others run.
    const auto by_vcpu = host["delivered_by_vcpu"].get<std::vector<std::uint64_t>>();
    ASSERT_EQ(by_vcpu.size(), injection.vcpus);
    EXPECT_EQ(by_vcpu[0], host["delivered"].get<std::uint64_t>());
    for (unsigned vcpu = 1; vcpu < injection.vcpus; ++vcpu) EXPECT_EQ(by_vcpu[vcpu], 0u) << "vCPU " << vcpu;
  }
}

class PacedInjection : public ::testing::TestWithParam<std::string> {};

// 10,000 injections spread over an ISA edge line, a level line and an MSI, each
// waiting for the guest's acknowledgement of the one before (paced slower than
// the guest's handler whatever its speed): every one is delivered exactly once.
// In PIC mode the guest leaves the IOAPIC unprogrammed and the ISA lines arrive
// through the 8259; in IOAPIC mode through IOAPIC pins, the level one on pin 17.
TEST_P(PacedInjection, TenThousandAreEachDeliveredOnce) {
  REQUIRE_KVM();
  const std::string intc = GetParam();
  Injection injection{intc,
                      {{"nic", 5, "edge", 0, 3334},
                       {"disk", intc == "pic" ? 10u : 17u, "level", 0, 3333},
                       {"doorbell", 24, "edge", 80, 3333}},
                      200,
                      true};
  const Outcome outcome = run_injection(injection);
  expect_consistent(outcome, injection);
  for (const auto& line : injection.lines) {
    EXPECT_EQ(outcome.host[line.name]["delivered"].get<std::uint64_t>(), line.count) << line.name;
    EXPECT_EQ(outcome.host[line.name]["coalesced"].get<std::uint64_t>(), 0u) << line.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Intc, PacedInjection, ::testing::Values("pic", "ioapic"),
                         [](const auto& info) { return info.param; });

// Injections 1 us apart, faster than any guest handler can take them: the
// excess coalesces, and injected = delivered + coalesced holds exactly on every
// line, with the guest's own count equal to vmm's delivered.
TEST(BurstInjection, FasterThanTheGuestBalancesExactly) {
  REQUIRE_KVM();
  Injection injection{"ioapic",
                      {{"nic", 5, "edge", 0, 5000}, {"disk", 17, "level", 0, 5000}, {"doorbell", 24, "edge", 80, 5000}},
                      1,
                      false};
  const Outcome outcome = run_injection(injection);
  expect_consistent(outcome, injection);
  for (const auto& line : injection.lines)
    EXPECT_GT(outcome.host[line.name]["coalesced"].get<std::uint64_t>(), 0u)
        << line.name << ": a 1 us burst of 5000 should outrun the guest";
}

// With two vCPUs the per-vCPU figures add up to the machine's: exits by reason,
// and each line's deliveries (all on vCPU 0, where the lines are routed, while
// vCPU 1 runs tasks too).
TEST(SmpStats, PerVcpuFiguresAddUpToTheMachinesTotals) {
  REQUIRE_KVM();
  Injection injection{"ioapic", {{"nic", 5, "edge", 0, 300}, {"disk", 17, "level", 0, 300}}, 200, true, 2};
  const Outcome outcome = run_injection(injection);
  expect_consistent(outcome, injection);
  const auto vcpus = outcome.stats.value("vcpus", nlohmann::json::array());
  ASSERT_EQ(vcpus.size(), 2u) << outcome.stats.dump(2);
  std::map<std::string, std::uint64_t> exits;
  for (unsigned index = 0; index < 2; ++index) {
    const auto& vcpu = vcpus[index];
    EXPECT_EQ(vcpu.at("id").get<unsigned>(), index);
    std::uint64_t vcpu_exits = 0;
    for (const auto& [reason, count] : vcpu.at("exits").items()) {
      exits[reason] += count.get<std::uint64_t>();
      vcpu_exits += count.get<std::uint64_t>();
    }
    EXPECT_EQ(vcpu_exits, outcome.stats.at("exits_by_vcpu").at(index).get<std::uint64_t>());
    for (const auto& line : injection.lines)
      EXPECT_EQ(vcpu.at("interrupts").at(std::to_string(line.gsi)).get<std::uint64_t>(),
                index == 0 ? outcome.host.at(line.name).at("delivered").get<std::uint64_t>() : 0u);
    // KVM's statistics fd (Linux 5.14+): present for every vCPU or for none.
    EXPECT_EQ(vcpu.contains("halt_wait_ns"), vcpus[0].contains("halt_wait_ns"));
  }
  EXPECT_EQ(exits, outcome.stats.at("exits").get<decltype(exits)>());
  EXPECT_GT(vcpus[0].at("exits").at("io").get<std::uint64_t>(), 0u);
}

}  // namespace
}  // namespace vmm::testing
