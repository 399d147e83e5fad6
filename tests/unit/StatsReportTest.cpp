// `vmm ctl stats` without --json: tables a person can read, no histograms,
// and no exception on stats it does not know.

#include "vmm/control/StatsReport.h"

#include <gtest/gtest.h>

namespace vmm {
namespace {

const nlohmann::json kStats = nlohmann::json::parse(R"({
  "paused": false,
  "lines": [{"name": "nic", "gsi": 5, "injected": 10, "delivered": 8, "coalesced": 2, "spurious": 1, "pending": 0,
             "latency_ns": {"samples": 8, "p50": 84100, "p99": 120300, "max": 250000,
                            "histogram_100ns": [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}},
            {"name": "idle", "gsi": 24, "injected": 0, "delivered": 0, "coalesced": 0, "spurious": 0, "pending": 0,
             "latency_ns": {"samples": 0, "p50": 0, "p99": 0, "max": 0, "histogram_100ns": []}}],
  "exits": {"io": 2298, "hlt": 3},
  "interrupts_by_gsi": {"0": 3000, "4": 41},
  "vcpus": [{"id": 0, "exits": {"io": 2000}, "halt_exits": 2, "halt_wait_ns": 1500000, "interrupts": {"5": 6}},
            {"id": 1, "exits": {"io": 298, "hlt": 3}, "interrupts": {"5": 2}}],
  "serial": {"bytes_out": 1231, "bytes_delivered": 1231, "bytes_discarded": 0},
  "memory": {"guest_bytes": 67108864, "guest_resident_bytes": 954368},
  "gdb": {"endpoint": "unix:/tmp/g.sock", "clients": 1, "refused_clients": 0, "packets": 42, "bad_checksums": 0},
  "trace": {"events_written": 28807, "dropped_host_events": 0, "dropped_guest_events": 3},
  "emulation_fixups": {"fwait": 0, "int3": 16}
})");

TEST(StatsReport, LinesExitsInterruptsAndVcpusAsTables) {
  const std::string text = format_stats(kStats);
  struct Expected {
    const char* fragment;
  };
  for (const Expected& expected : std::initializer_list<Expected>{
           {"state: running\n"},
           {"  line  gsi  injected  delivered  coalesced  spurious  pending      p50       p99       max\n"},
           {"  nic     5        10          8          2         1        0  84.1 us  120.3 us  250.0 us\n"},
           {"  idle   24         0          0          0         0        0        -         -         -\n"},
           {"exits by reason\n"},
           {"  io       2298\n"},
           {"interrupts by GSI\n"},
           {"  0     3000\n"},
           {"  vcpu  exits  halt exits  halted  scripted irqs\n"},
           {"  0      2000           2  1.5 ms              6\n"},
           {"  1       301           -       -              2\n"},
           {"serial: 1231 bytes out, 1231 delivered, 0 discarded\n"},
           {"memory: 64.0 MiB guest, 0.9 MiB resident\n"},
           {"gdb: unix:/tmp/g.sock, 1 client(s), 0 refused, 42 packets, 0 bad checksums\n"},
           {"trace: 28807 events written, 0 host and 3 guest events dropped\n"},
           {"emulation fix-ups: int3 16\n"}})
    EXPECT_NE(text.find(expected.fragment), std::string::npos) << "missing: " << expected.fragment << "\n" << text;
  EXPECT_EQ(text.find("histogram"), std::string::npos) << text;
  EXPECT_LT(std::count(text.begin(), text.end(), '\n'), 30) << text;
}

TEST(StatsReport, StrangeStatsAreSkippedNotFatal) {
  for (const char* json : {"{}", "[]", "null", R"({"lines": 5, "exits": [1], "vcpus": [7, {"id": "x"}], "serial": 3})",
                           R"({"lines": [{"name": 5, "latency_ns": "fast"}], "memory": {"guest_bytes": -1}})"}) {
    EXPECT_NO_THROW(format_stats(nlohmann::json::parse(json))) << json;
  }
}

}  // namespace
}  // namespace vmm
