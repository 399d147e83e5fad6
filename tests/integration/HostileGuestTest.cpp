// Guests that misbehave on purpose (tests/guests/hostile-guest.S): vmm ends
// each with the right status and a short report, never a crash or a hang, and
// keeps answering its control socket meanwhile.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

constexpr int kTimeout = 124;
constexpr int kGuestCrash = 121;

// vmm's peak RSS (VmHWM) stays under this in every hostile run. Measured on
// this project's 2-core kvm_pvm host with a 16 MiB guest: the plain build
// peaks at 2-3 MiB (8.5 MiB in the port storm, whose per-port counters it
// touches all; the guest's RAM is resident only where the guest touched it),
// ASan at 32-59 MiB and TSan at 19-94 MiB (shadow memory,
// quarantine, per-thread state); each bound leaves a wide margin, but an
// unbounded buffer (1 KiB a serial byte kept, a histogram per injection)
// crosses it within the runs below.
std::uint64_t rss_bound_kib() {
  switch (build_kind()) {
    case BuildKind::Plain: return 64 * 1024;
    case BuildKind::AddressSanitizer: return 256 * 1024;
    case BuildKind::ThreadSanitizer: return 384 * 1024;
  }
  return 0;
}

void expect_bounded_rss(const VmmResult& result, const std::string& what) {
  EXPECT_GT(result.peak_rss_kib, 0u) << what << ": VmHWM was never sampled";
  EXPECT_LT(result.peak_rss_kib, rss_bound_kib()) << what << ": vmm's peak RSS";
  std::printf("[ hostile  ] %s: peak RSS %.1f MiB (bound %.0f MiB)\n", what.c_str(), result.peak_rss_kib / 1024.0,
              rss_bound_kib() / 1024.0);
}

// Round trips of `stats` requests on the control socket while a guest misbehaves.
struct ControlProbe {
  int asked = 0;
  int answered = 0;
  long slowest_us = 0;
};

ControlProbe probe_control(const std::string& socket, int requests, std::chrono::milliseconds gap) {
  ControlProbe probe;
  for (int i = 0; i < requests; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto answer = request(socket, {{"cmd", "stats"}});
    const long us = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
    ++probe.asked;
    if (answer.value("ok", false)) {
      ++probe.answered;
      probe.slowest_us = std::max(probe.slowest_us, us);
    }
    std::this_thread::sleep_for(gap);
  }
  return probe;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Polls a serial output file until it holds `text` (the guest is ready); false after `limit`.
bool wait_for_output(const std::string& path, const std::string& text, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_file(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string guest(const std::string& name) { return std::string(VMM_HOSTILE_GUESTS) + "/hostile-" + name + ".elf"; }

nlohmann::json read_stats(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file, nullptr, false);
}

VmmResult run_guest(const std::string& name, const std::string& stats, const std::string& timeout = "120s",
                    std::vector<std::string> more = {}) {
  VmmRun run;
  run.args = {"run", "--kernel", guest(name), "--memory", "16", "--vcpus", "1", "--timeout", timeout, "--stats", stats};
  run.args.insert(run.args.end(), more.begin(), more.end());
  run.limit = std::chrono::minutes(4);
  auto result = run_vmm(run);
  expect_bounded_rss(result, name);
  return result;
}

// Nothing can wake a vCPU halted with interrupts off: only --timeout ends it,
// on time, with its status.
TEST(HostileGuest, CliHltEndsOnlyByTheTimeout) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("cli_hlt", stats, "2s");
  EXPECT_FALSE(result.hung);
  EXPECT_EQ(result.exit_status, kTimeout) << describe(result);
  EXPECT_EQ(result.out, "cli_hlt\n");
  EXPECT_NE(result.err.find("timeout"), std::string::npos) << describe(result);
  EXPECT_GE(result.elapsed.count(), 2000);
  EXPECT_LT(result.elapsed.count(), 20000);
}

// An out and an in on every port but debug-exit and the i8042's reset port:
// unclaimed ports read as all-ones and are counted, claimed ones take the
// garbage, and the guest still exits with its own status.
TEST(HostileGuest, PortStormOverTheWholePortSpace) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("port_storm", stats);
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out.rfind("port_storm\n", 0), 0u) << describe(result);
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  EXPECT_GT(counted["unclaimed"]["port_io"].get<std::uint64_t>(), 60000u);
  // Logged at a limited rate, not once per access.
  EXPECT_LT(std::count(result.err.begin(), result.err.end(), '\n'), 20) << result.err;
}

// Reads and writes every 64 KiB from the end of RAM to 4 GiB: holes, the
// LAPIC and IOAPIC pages, the scratch register, and the last bytes of RAM.
TEST(HostileGuest, MmioStormUpToFourGiB) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("mmio_storm", stats);
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out, "mmio_storm\n");
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  EXPECT_GT(counted["unclaimed"]["mmio"].get<std::uint64_t>(), 60000u);
  EXPECT_LT(std::count(result.err.begin(), result.err.end(), '\n'), 20) << result.err;
}

// Every byte value to every PIT and UART register (and port 0x61) in random
// order: the models take it, and the UART still carries the guest's last line.
TEST(HostileGuest, GarbageInEveryDeviceRegister) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("device_garbage", stats);
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out.rfind("device_garbage\n", 0), 0u) << describe(result);
  EXPECT_NE(result.out.find("ok\n"), std::string::npos) << describe(result);
}

// The PIT at its fastest rate (divisor 1, 1.19 MHz) into a guest that never
// EOIs: vmm's event loop must not drown in deadlines. The control socket keeps
// answering within 100 ms, and the timeout still ends the run.
TEST(HostileGuest, PitAtItsFastestRateNeverAcknowledged) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json"), socket = scratch_path("sock");
  auto vm = std::async(std::launch::async, [&] {
    VmmRun run;
    run.args = {"run", "--kernel", guest("pit_flood"), "--memory", "16", "--vcpus", "1", "--timeout", "4s",
                "--control", socket, "--stats", stats};
    run.limit = std::chrono::minutes(2);
    return run_vmm(run);
  });
  // The probe starts once the flood is on: the PIT has had to drop a thousand
  // ticks the guest never took. A refused request means the run is over.
  bool flooding = false;
  for (bool answered_once = true; answered_once && !flooding;) {
    const auto answer = request(socket, {{"cmd", "stats"}});
    answered_once = answer.value("ok", false);
    flooding = answered_once && answer["stats"]["pit"].value("dropped_reinjects", std::uint64_t{0}) > 1000;
    if (!flooding) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(flooding) << "the PIT never flooded the guest";
  long slowest_us = 0;
  int answered = 0;
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto answer = request(socket, {{"cmd", "stats"}});
    const long us = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
    if (answer.value("ok", false)) {
      ++answered;
      slowest_us = std::max(slowest_us, us);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, kTimeout) << describe(result);
  expect_bounded_rss(result, "pit_flood");
  EXPECT_EQ(answered, 20);
  EXPECT_LT(slowest_us, 100'000) << "the control socket took " << slowest_us << " us to answer";
  std::printf("[ hostile  ] pit_flood: slowest stats answer %.1f ms\n", slowest_us / 1000.0);
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  EXPECT_GT(counted["pit"]["irq_edges"].get<std::uint64_t>(), 0u);
}

// Random bytes to the PIT and port 0x61 with interrupts off, 60,000 of them:
// channel 0 ends up at any divisor, tiny ones too, and nobody EOIs. The PIT's
// lost-EOI rule must not turn that into a host storm (before: 34 s and 10.9 s
// of system time where the same accesses, well behaved, took 8 s): within 3x
// the calm twin's wall time and 4x its system time (2.7x measured unloaded:
// the random divisors make the PIT raise more edges), both measured in the
// same test, so the bounds move with the host; a slow host spends 2 s of
// system time on the random run's exits alone.
TEST(HostileGuest, RandomPitProgrammingNeverAcknowledgedCostsTheHostLittle) {
  REQUIRE_KVM();
  const std::string calm_stats = scratch_path("calm.json"), random_stats = scratch_path("random.json");
  const auto calm = run_guest("pit_calm", calm_stats, "120s");
  ASSERT_EQ(calm.exit_status, 0) << describe(calm);
  const auto random = run_guest("pit_random", random_stats, "120s");
  ASSERT_EQ(random.exit_status, 0) << describe(random);
  EXPECT_EQ(random.out, "pit_random\n");
  const auto pit = read_stats(random_stats)["pit"];
  std::printf("[ hostile  ] pit_random: %lld ms (calm %lld ms), system %.2f s (calm %.2f s) user %.2f s; "
              "lost_eois %llu, irq_edges %llu, dropped_reinjects %llu\n",
              static_cast<long long>(random.elapsed.count()), static_cast<long long>(calm.elapsed.count()),
              random.system_cpu.count() / 1e6, calm.system_cpu.count() / 1e6, random.user_cpu.count() / 1e6,
              static_cast<unsigned long long>(pit.value("lost_eois", 0ull)),
              static_cast<unsigned long long>(pit.value("irq_edges", 0ull)),
              static_cast<unsigned long long>(pit.value("dropped_reinjects", 0ull)));
  // A quarter second of slack for the host's own stalls on runs this short.
  EXPECT_LE(random.elapsed.count(), 3 * calm.elapsed.count() + 250) << describe(random);
  EXPECT_LE(random.system_cpu.count(), 4 * calm.system_cpu.count() + 250'000) << "system time, us";
  EXPECT_LE(pit.value("lost_eois", 0ull), 100u) << "each lost EOI in a row doubles the wait for the next";
}

// int3 and fwait in ring 0, which Linux executes and this project's hosts'
// instruction emulator cannot: the guest sees what hardware does (its #BP
// handler runs once per int3 and returns past it; fwait waits for nothing).
// Where the emulator failed, vmm did the instruction itself, counted it and
// said so once; on hardware virtualization nothing was needed.
TEST(HostileGuest, Int3AndFwaitInRingZeroRunAsOnHardware) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("int3_fwait", stats, "60s");
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out, "int3_fwait\nbreakpoints ok\n");
  const auto counters = read_stats(stats);
  ASSERT_TRUE(counters.contains("emulation_fixups")) << counters.dump();
  const auto int3 = counters["emulation_fixups"]["int3"].get<std::uint64_t>();
  const auto fwait = counters["emulation_fixups"]["fwait"].get<std::uint64_t>();
  EXPECT_TRUE(int3 == 0 || int3 == 16) << int3;
  EXPECT_TRUE(fwait == 0 || fwait == 16) << fwait;
  const bool reported = result.err.find("could not emulate") != std::string::npos;
  EXPECT_EQ(reported, int3 + fwait > 0) << describe(result);
  EXPECT_LE(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "reported once: " << result.err;
  std::printf("[ hostile  ] int3_fwait: fix-ups int3=%llu fwait=%llu\n", static_cast<unsigned long long>(int3),
              static_cast<unsigned long long>(fwait));
}

// `int n` in ring 0 for five vectors (0x0e among them, which must push no
// error code): each handler runs once and sees the address after its `int`.
// On this project's hosts the emulator fails on each, and vmm carries it out
// (emulation_fixups.int_n = 5); on hardware virtualization none is needed.
TEST(HostileGuest, SoftwareInterruptsInRingZeroRunAsOnHardware) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("int_n", stats, "60s");
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_EQ(result.out, "int_n\nsoftware interrupts ok\n");
  const auto counters = read_stats(stats);
  const auto int_n = counters["emulation_fixups"]["int_n"].get<std::uint64_t>();
  EXPECT_TRUE(int_n == 0 || int_n == 5) << int_n;
  EXPECT_EQ(result.err.find("could not emulate int_n") != std::string::npos, int_n > 0) << describe(result);
  std::printf("[ hostile  ] int_n: fix-ups int_n=%llu\n", static_cast<unsigned long long>(int_n));
}

// An IDT of limit 0 and an exception: #UD, #GP and #DF cannot be delivered and
// the CPU shuts down. vmm ends at once with the guest-crash status and a
// report that names the exit and shows the guest's state (the IDT limit 0).
TEST(HostileGuest, TripleFaultEndsAsAGuestCrashWithItsState) {
  REQUIRE_KVM();
  const std::string stats = scratch_path("stats.json");
  const auto result = run_guest("triple_fault", stats);
  EXPECT_FALSE(result.hung);
  ASSERT_EQ(result.exit_status, kGuestCrash) << describe(result);
  EXPECT_EQ(result.out, "triple_fault\n");
  EXPECT_NE(result.err.find("vCPU 0: triple fault (KVM_EXIT_SHUTDOWN); guest state:"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("idt base 0000000000000000 limit 0000"), std::string::npos) << result.err;
  EXPECT_LT(std::count(result.err.begin(), result.err.end(), '\n'), 15) << "a short report:\n" << result.err;
  EXPECT_LT(result.elapsed.count(), 60000);
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  EXPECT_EQ(counted["exits"].value("shutdown", 0u), 1u);
}

// #DE, #UD (whose handler takes a nested #DE) and #GP, again and again, every
// 4096th exception counted at the POST-code port. Endless, only --timeout ends
// it, with the control socket answering meanwhile; counted, the guest exits
// with its own status at the 65536th, which the POST count confirms exactly.
struct ExceptionStormCase {
  const char* guest;
  const char* timeout;
  int status;
  std::uint64_t min_posts, max_posts;
};

class ExceptionStorm : public ::testing::TestWithParam<ExceptionStormCase> {};

TEST_P(ExceptionStorm, EndsWithItsStatusWhileTheControlSocketAnswers) {
  REQUIRE_KVM();
  const auto& param = GetParam();
  const std::string stats = scratch_path("stats.json"), socket = scratch_path("sock");
  auto vm = std::async(std::launch::async,
                       [&] { return run_guest(param.guest, stats, param.timeout, {"--control", socket}); });
  // Three answers at least while the guest storms (the endless one storms
  // for 3 s; the counted one may be done sooner on a fast host, when the
  // requests fail to connect and the count says so).
  const ControlProbe probe = probe_control(socket, 5, std::chrono::milliseconds(100));
  const auto result = vm.get();
  EXPECT_FALSE(result.hung);
  ASSERT_EQ(result.exit_status, param.status) << describe(result);
  EXPECT_EQ(result.out, "exc_storm\n");
  if (param.status == kTimeout) {
    EXPECT_EQ(probe.answered, probe.asked);
    // Responsive, not timed to the interrupt storm's 100 ms: the slowest
    // answer was 26 ms in the plain build and 55 ms under ASan with a build
    // running on both cores, too close to 100 ms to hold on a loaded host.
    EXPECT_LT(probe.slowest_us, 1'000'000);
  }
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  const std::uint64_t posts = counted["port_io"].value("0x80", std::uint64_t{0});
  EXPECT_GE(posts, param.min_posts);
  EXPECT_LE(posts, param.max_posts);
  std::printf("[ hostile  ] %s: %llu exceptions counted, slowest stats answer %.1f ms\n", param.guest,
              static_cast<unsigned long long>(posts * 4096), probe.slowest_us / 1000.0);
}

// The endless storm: in 3 s this host takes about 230,000 exceptions (57 POST
// writes); 2 (8192 exceptions) holds with the guest 25 times slower. The
// counted one exits with 0x33 at exactly 65536, 16 POST writes.
INSTANTIATE_TEST_SUITE_P(HostileGuest, ExceptionStorm,
                         ::testing::Values(ExceptionStormCase{"exc_storm", "3s", kTimeout, 2, ~0ull},
                                           ExceptionStormCase{"exc_counted", "120s", 0x33, 16, 16}),
                         [](const auto& info) { return std::string(info.param.guest); });

// Serial output far beyond every buffer into a file sink, from a guest that
// drives the 16550A as its datasheet says (16 bytes a THRE). The file has
// every byte in order (a running 32-bit counter, checked while streaming the
// file), --stats counts the same bytes, and vmm's memory stays bounded.
//
// Not 1 GiB: KVM exits once per byte of a rep outsb (only ins is batched), and
// this host does about 75,000 such exits a second (512 KiB took 7.0 s), so
// 1 GiB would take four hours. The main build sends 2 MiB (32 times the
// output buffer, about 28 s here); the sanitizer builds, several times slower
// per exit, send 512 KiB (hostile-serial_flood_small).
TEST(HostileGuest, SerialFloodIntoAFileArrivesWholeInOrder) {
  REQUIRE_KVM();
  const bool small = build_kind() != BuildKind::Plain;
  const std::uint64_t payload = (small ? 128u : 512u) * 4096u;
  const std::string stats = scratch_path("stats.json"), sink = scratch_path("serial.bin");
  const auto result = run_guest(small ? "serial_flood_small" : "serial_flood", stats, "200s", {"--serial", "file:" + sink});
  ASSERT_EQ(result.exit_status, 0) << describe(result);

  const std::string header = "serial_flood\n";
  std::ifstream file(sink, std::ios::binary);
  std::string first(header.size(), '\0');
  ASSERT_TRUE(file.read(first.data(), static_cast<std::streamsize>(first.size())));
  ASSERT_EQ(first, header);
  std::uint32_t expected = 0;
  std::uint64_t bytes = 0;
  std::vector<char> chunk(1 << 16);
  while (file) {
    file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(file.gcount());
    ASSERT_EQ(got % 4, 0u) << "the file ends inside a counter, after " << bytes + got << " bytes";
    for (std::size_t i = 0; i < got; i += 4, ++expected) {
      std::uint32_t value;
      std::memcpy(&value, chunk.data() + i, 4);
      ASSERT_EQ(value, expected) << "at byte " << bytes + i << " of the payload";
    }
    bytes += got;
  }
  EXPECT_EQ(bytes, payload);
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  EXPECT_EQ(counted["serial"]["bytes_out"].get<std::uint64_t>(), header.size() + payload);
  EXPECT_EQ(counted["serial"]["bytes_delivered"].get<std::uint64_t>(), header.size() + payload);
  EXPECT_EQ(counted["serial"]["bytes_discarded"].get<std::uint64_t>(), 0u);
  std::printf("[ hostile  ] serial_flood: %llu bytes in %lld ms, %.0f bytes/s\n",
              static_cast<unsigned long long>(payload), static_cast<long long>(result.elapsed.count()),
              static_cast<double>(payload) * 1000.0 / static_cast<double>(std::max<long long>(result.elapsed.count(), 1)));
}

// 1,000,000 injections 1 us apart on an unmasked line whose handler
// acknowledges and EOIs; the control socket keeps answering within 100 ms all
// along, and the accounting adds up. For the level line delivered and
// coalesced are counted apart (an injection into a line still up); for the
// edge line coalesced is injected minus delivered by definition, so there the
// check is the guest's own count against vmm's. Either way the guest's count
// of deliveries, printed at the end, matches vmm's.
class InterruptStorm : public ::testing::TestWithParam<const char*> {};

TEST_P(InterruptStorm, AMillionInjectionsWhileTheControlSocketAnswers) {
  REQUIRE_KVM();
  const std::string trigger = GetParam();
  const std::string stats = scratch_path("stats.json"), socket = scratch_path("sock"),
                    config = scratch_path("config.json"), sink = scratch_path("serial.txt");
  {
    std::ofstream file(config);
    file << nlohmann::json{{"irq",
                            {{"lines",
                              {{{"name", "storm"}, {"gsi", 16}, {"trigger", trigger}},
                               {{"name", "done"}, {"gsi", 17}, {"trigger", "edge"}}}}}}}
                .dump();
  }
  auto vm = std::async(std::launch::async, [&] {
    VmmRun run;
    run.args = {"run", config, "--kernel", guest("irq_storm_" + trigger), "--memory", "16", "--vcpus", "1",
                "--timeout", "200s", "--control", socket, "--stats", stats, "--serial", "file:" + sink};
    run.limit = std::chrono::minutes(4);
    return run_vmm(run);
  });
  ASSERT_TRUE(wait_for_output(sink, "ready\n", std::chrono::seconds(60))) << read_file(sink);
  constexpr std::uint64_t kInjections = 1'000'000;
  const auto scheduled = request(socket, {{"cmd", "inject"}, {"line", "storm"}, {"count", kInjections}, {"interval_us", 1}});
  ASSERT_TRUE(scheduled.value("ok", false)) << scheduled.dump();

  // Round trips during the storm: about 4 ms (level) and 14 ms (edge) at the
  // slowest here in the plain build, the loop's batches of 256 injections
  // between them; 100 ms leaves a margin of 7 times for a loaded host.
  long slowest_us = 0;
  int requests = 0;
  nlohmann::json line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto start = std::chrono::steady_clock::now();
    const auto answer = request(socket, {{"cmd", "stats"}});
    const long us = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
    ASSERT_TRUE(answer.value("ok", false)) << answer.dump();
    slowest_us = std::max(slowest_us, us);
    ++requests;
    line = answer["stats"]["lines"][0];
    if (line["pending"] == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto quiet = wait_until_quiet(socket);
  ASSERT_TRUE(request(socket, {{"cmd", "inject"}, {"line", "done"}}).value("ok", false));
  const auto result = vm.get();
  ASSERT_EQ(result.exit_status, 0) << describe(result) << read_file(sink);
  expect_bounded_rss(result, "irq_storm_" + trigger);
  EXPECT_LT(slowest_us, 100'000) << "the control socket took " << slowest_us << " us to answer";
  EXPECT_GE(requests, 2);

  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  const auto& storm = counted["lines"][0];
  const auto injected = storm["injected"].get<std::uint64_t>(), delivered = storm["delivered"].get<std::uint64_t>(),
             coalesced = storm["coalesced"].get<std::uint64_t>();
  EXPECT_EQ(injected, kInjections);
  EXPECT_EQ(storm["pending"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(delivered + coalesced, injected) << storm.dump();
  EXPECT_GT(delivered, 0u);
  const std::string output = read_file(sink);
  EXPECT_NE(output.find("delivered=" + std::to_string(delivered) + "\n"), std::string::npos)
      << "vmm counted " << delivered << "; the guest printed:\n" << output;
  std::printf("[ hostile  ] irq_storm_%s: %d stats answers, slowest %.1f ms; injected %llu delivered %llu "
              "coalesced %llu spurious %llu\n",
              trigger.c_str(), requests, slowest_us / 1000.0, static_cast<unsigned long long>(injected),
              static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(coalesced),
              static_cast<unsigned long long>(storm["spurious"].get<std::uint64_t>()));
  (void)quiet;
}

INSTANTIATE_TEST_SUITE_P(HostileGuest, InterruptStorm, ::testing::Values("level", "edge"),
                         [](const auto& info) { return std::string(info.param); });

// Every vCPU writes and reads the PIT (counters, commands, latches and
// read-backs), COM1 (every register, DLAB and loopback included) and the ack
// port at random, all at once. vmm survives, and the devices end in a state
// the boot CPU can set and read back exactly; then each CPU in turn prints a
// whole line. (The THR garbage of the fight lands before "fight over".)
class DeviceFight : public ::testing::TestWithParam<int> {};

TEST_P(DeviceFight, VcpusFightingOverTheDevicesLeaveThemConsistent) {
  REQUIRE_KVM();
  const int cpus = GetParam();
  const std::string stats = scratch_path("stats.json");
  VmmRun run;
  run.args = {"run", "--kernel", guest("device_fight" + std::to_string(cpus)), "--memory", "16", "--vcpus",
              std::to_string(cpus), "--timeout", "200s", "--stats", stats};
  run.limit = std::chrono::minutes(4);
  const auto result = run_vmm(run);
  EXPECT_FALSE(result.hung);
  ASSERT_EQ(result.exit_status, 0) << describe(result);
  expect_bounded_rss(result, "device_fight" + std::to_string(cpus));
  const auto over = result.out.find("fight over\n");
  ASSERT_NE(over, std::string::npos) << describe(result);
  std::string expected = "fight over\n";
  for (int cpu = 0; cpu < cpus; ++cpu) expected += "vcpu" + std::to_string(cpu) + " ok\n";
  expected += "fight ok\n";
  EXPECT_EQ(result.out.substr(over), expected);
  const auto counted = read_stats(stats);
  ASSERT_TRUE(counted.is_object());
  // Every CPU fought: each one's exits are most of its share of the accesses.
  ASSERT_EQ(counted["exits_by_vcpu"].size(), static_cast<std::size_t>(cpus));
  for (const auto& exits : counted["exits_by_vcpu"]) EXPECT_GT(exits.get<std::uint64_t>(), 20000u);
  EXPECT_GT(counted["stray_acknowledgements"].get<std::uint64_t>(), 0u);
  for (const char* port : {"0x40", "0x43", "0x3f8", "0x3fb", "0x520"})
    EXPECT_GT(counted["port_io"].value(port, std::uint64_t{0}), 0u) << port;
}

INSTANTIATE_TEST_SUITE_P(HostileGuest, DeviceFight, ::testing::Values(2, 4),
                         [](const auto& info) { return std::to_string(info.param) + "Vcpus"; });

}  // namespace
}  // namespace vmm::testing
