// The GDB stub against Debian's gdb in batch mode and against a raw protocol
// client: breakpoints in the bundled kernel's scheduler, backtraces, single
// steps, hardware breakpoints, threads = vCPUs, a step-over that leaves the
// other vCPU stopped, Ctrl-C, detach, and clients that send garbage or vanish.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "ControlRequests.h"
#include "VmmProcess.h"

namespace vmm::testing {
namespace {

struct GdbRun {
  int status = -1;
  std::string output;
};

// Runs gdb in batch mode on the kernel's symbols with `commands`, for at most
// `limit_s` seconds (timeout(1) ends a gdb that waits for a stop that never comes).
GdbRun run_gdb(const std::vector<std::string>& commands, int limit_s = 240) {
  const std::string script = scratch_path("gdb-commands");
  std::ofstream file(script);
  for (const auto& command : commands) file << command << "\n";
  file.close();
  const std::string command_line =
      "timeout " + std::to_string(limit_s) + " gdb -batch -nx -x " + script + " " + VMM_GUEST_KERNEL_SYMBOLS + " 2>&1";
  GdbRun run;
  FILE* pipe = ::popen(command_line.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> chunk;
  while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) run.output.append(chunk.data(), n);
  run.status = ::pclose(pipe);
  return run;
}

// Waits until a socket listens on `path` (/proc/net/unix lists it with
// __SO_ACCEPTCON), so gdb's one `target remote` cannot come before vmm's bind
// and listen: under ASan in CI vmm started slower than gdb and gdb found no
// socket. False after `limit`.
bool wait_until_listening(const std::string& path, std::chrono::seconds limit = std::chrono::seconds(60)) {
  constexpr unsigned long kAcceptingConnections = 0x10000;  // __SO_ACCEPTCON
  const auto deadline = std::chrono::steady_clock::now() + limit;
  do {
    std::ifstream table("/proc/net/unix");
    std::string row;
    std::getline(table, row);  // the header
    while (std::getline(table, row)) {
      std::istringstream fields(row);
      std::string slot, references, protocol, flags, type, state, inode, name;
      if (fields >> slot >> references >> protocol >> flags >> type >> state >> inode >> name && name == path &&
          (std::stoul(flags, nullptr, 16) & kAcceptingConnections))
        return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

std::future<VmmResult> start_vmm(const std::string& socket, const std::vector<std::string>& extra) {
  VmmRun run;
  run.args = {"run", "--gdb", "unix:" + socket, "--timeout", "280s"};
  run.args.insert(run.args.end(), extra.begin(), extra.end());
  run.limit = std::chrono::seconds(300);
  return std::async(std::launch::async, [run] { return run_vmm(run); });
}

// The values gdb printed for `p/x $pc`, in order.
std::vector<std::string> printed_values(const std::string& output) {
  std::vector<std::string> values;
  static const std::regex value(R"(\$\d+ = (0x[0-9a-f]+))");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), value); it != std::sregex_iterator(); ++it)
    values.push_back((*it)[1]);
  return values;
}

void require_gdb() {
  if (!have_program("gdb")) GTEST_FAIL() << "gdb is not installed (tools/test installs it)";
}

std::vector<std::string> scheduler_session(const std::string& socket, bool threads) {
  std::vector<std::string> commands = {"set pagination off",
                                       "set confirm off",
                                       "target remote " + socket,
                                       "break schedule",
                                       "continue",
                                       "bt",
                                       "info registers rip",
                                       "x/4i $pc",
                                       "stepi",
                                       "p/x $pc",
                                       "stepi",
                                       "p/x $pc",
                                       "stepi",
                                       "p/x $pc"};
  if (threads) commands.push_back("info threads");
  for (const char* tail : {"delete", "hbreak sched_tick", "continue", "bt", "delete", "continue"})
    commands.push_back(tail);
  return commands;
}

void expect_scheduler_session(const GdbRun& gdb) {
  // schedule() is inlined into some callers: "Breakpoint 1.2, ".
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(Breakpoint 1(\.\d+)?, .*schedule)"))) << gdb.output;
  // The backtrace reaches schedule() from the return-to-user path of an interrupt or system call.
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(#0 .*schedule)"))) << gdb.output;
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(#1 .*(sched_|syscall|irq|trap))"))) << gdb.output;
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(rip\s+0x[0-9a-f]+)"))) << gdb.output;
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(=> 0x[0-9a-f]+)"))) << gdb.output;
  const auto pcs = printed_values(gdb.output);
  ASSERT_EQ(pcs.size(), 3u) << gdb.output;
  EXPECT_NE(pcs[0], pcs[1]);
  EXPECT_NE(pcs[1], pcs[2]);
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(Hardware assisted breakpoint 2 at)"))) << gdb.output;
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(#0 .*sched_tick)"))) << gdb.output;
  // The interrupt path, from the tick back to the IDT's common entry stub.
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(#\d+ .* in local_tick)"))) << gdb.output;
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(#\d+ .* in trap \(tf=)"))) << gdb.output;
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(#\d+ .* in isr_common)"))) << gdb.output;
}

TEST(Gdb, BreakInScheduleBacktraceStepAndRunToTheEnd) {
  REQUIRE_KVM();
  require_gdb();
  const std::string socket = scratch_path("gdb.sock");
  auto vm = start_vmm(socket, {"--gdb-wait", "--vcpus", "1"});
  ASSERT_TRUE(wait_until_listening(socket)) << "vmm never listened on " << socket;
  const auto gdb = run_gdb(scheduler_session(socket, false));
  const auto result = vm.get();
  expect_scheduler_session(gdb);
  EXPECT_EQ(result.exit_status, 0) << describe(result) << "\n--- gdb ---\n" << gdb.output;
  EXPECT_NE(result.out.find("total "), std::string::npos) << describe(result);
  // The guest's debug-exit 0 reaches gdb as QEMU's stub reports it (W00), not
  // as a connection that closed.
  EXPECT_NE(gdb.output.find("[Inferior 1 (Remote target) exited normally]"), std::string::npos) << gdb.output;
  EXPECT_EQ(gdb.output.find("Remote connection closed"), std::string::npos) << gdb.output;
}

TEST(Gdb, TwoVcpusAreTwoThreadsAndABreakpointStopsBoth) {
  REQUIRE_KVM();
  require_gdb();
  const std::string socket = scratch_path("gdb.sock");
  auto vm = start_vmm(socket, {"--gdb-wait", "--vcpus", "2"});
  ASSERT_TRUE(wait_until_listening(socket)) << "vmm never listened on " << socket;
  const auto gdb = run_gdb(scheduler_session(socket, true));
  const auto result = vm.get();
  expect_scheduler_session(gdb);
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(Thread 1\b)"))) << gdb.output;
  EXPECT_TRUE(std::regex_search(gdb.output, std::regex(R"(Thread 2\b)"))) << gdb.output;
  EXPECT_EQ(result.exit_status, 0) << describe(result) << "\n--- gdb ---\n" << gdb.output;
}

// A raw protocol client, for what gdb's batch mode cannot do.
class RspClient {
 public:
  explicit RspClient(const std::string& socket) : fd_(connect_unix(socket)) {}
  ~RspClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  void send_raw(const std::string& bytes) { send_all(fd_, bytes); }
  void send(const std::string& payload) {
    unsigned sum = 0;
    for (unsigned char c : payload) sum += c;
    char tail[8];
    std::snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
    send_raw("$" + payload + tail);
  }
  // The next packet's payload (acks skipped); empty on timeout.
  std::string receive(int limit_ms = 30000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
    while (true) {
      const auto start = buffer_.find('$');
      const auto end = buffer_.find('#', start == std::string::npos ? 0 : start);
      if (start != std::string::npos && end != std::string::npos && end + 2 < buffer_.size() + 0) {
        std::string payload = buffer_.substr(start + 1, end - start - 1);
        buffer_.erase(0, end + 3);
        return payload;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_more(static_cast<int>(left.count()))) return "";
    }
  }
  // Everything that arrives within `ms`, acks included.
  std::string drain(int ms) {
    read_more(ms);
    return std::exchange(buffer_, "");
  }

 private:
  bool read_more(int limit_ms) {
    pollfd readable{fd_, POLLIN, 0};
    if (::poll(&readable, 1, limit_ms) <= 0) return false;
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  int fd_;
  std::string buffer_;
};

TEST(Gdb, CtrlCStopsARunningGuestAndDetachLetsItFinish) {
  REQUIRE_KVM();
  const std::string socket = scratch_path("gdb.sock");
  auto vm = start_vmm(socket, {"--vcpus", "2"});
  {
    RspClient client(socket);
    ASSERT_TRUE(client.connected());
    client.send("?");
    EXPECT_TRUE(std::regex_match(client.receive(), std::regex("T[0-9a-f]{2}thread:[0-9a-f]+;.*")));
    client.send("c");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    client.send_raw("\x03");
    const std::string stop = client.receive();
    EXPECT_TRUE(stop.rfind("T02thread:", 0) == 0) << stop;
    client.send("qfThreadInfo");
    EXPECT_EQ(client.receive(), "m1,2");
    client.send("D");
    EXPECT_EQ(client.receive(), "OK");
  }
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_NE(result.out.find("total "), std::string::npos) << describe(result);
}

// Every way a run ends reaches an attached debugger as a W (vmm's exit
// status) or X (the signal that stopped vmm) packet, as QEMU's stub sends.
TEST(Gdb, TheDebuggerIsToldHowTheRunEnded) {
  REQUIRE_KVM();
  struct Case {
    const char* what;
    std::vector<std::string> args;
    int signal;  // sent to vmm once the guest runs; 0: none
    const char* packet;
    int exit_status;
  };
  const Case cases[] = {
      {"debug-exit 0", {}, 0, "W00", 0},
      {"debug-exit 3 (a guest exception)", {"--cmdline", "crash=ud"}, 0, "W03", 3},
      {"the timeout", {"--cmdline", "tasks=2 runtime_ms=600000", "--timeout", "2s"}, 0, "W7c", 124},
      {"SIGTERM", {"--cmdline", "tasks=2 runtime_ms=600000"}, SIGTERM, "X0f", 128 + SIGTERM},
      {"SIGINT", {"--cmdline", "tasks=2 runtime_ms=600000"}, SIGINT, "X02", 128 + SIGINT},
  };
  int index = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string socket = scratch_path("gdb" + std::to_string(index++) + ".sock");
    VmmRun run;
    run.args = {"run", "--gdb", "unix:" + socket, "--gdb-wait", "--vcpus", "1"};
    run.args.insert(run.args.end(), c.args.begin(), c.args.end());
    if (std::find(c.args.begin(), c.args.end(), "--timeout") == c.args.end())
      run.args.insert(run.args.end(), {"--timeout", "60s"});
    run.limit = std::chrono::seconds(90);
    if (c.signal) {
      run.send_signal_when = [](const std::string& out) {
        return out.find("task id=1 state=start") != std::string::npos;
      };
      run.signal_to_send = c.signal;
    }
    auto vm = std::async(std::launch::async, [run] { return run_vmm(run); });
    RspClient client(socket);
    ASSERT_TRUE(client.connected());
    client.send("?");
    EXPECT_EQ(client.receive().rfind("T05thread:", 0), 0u);
    client.send("c");
    EXPECT_EQ(client.receive(60000), c.packet);
    const auto result = vm.get();
    EXPECT_EQ(result.exit_status, c.exit_status) << describe(result);
  }
}

// A symbol's address in the bundled kernel, in hex without 0x; empty if absent.
std::string kernel_symbol(const std::string& name) {
  std::string address;
  FILE* nm = ::popen(("nm " + std::string(VMM_GUEST_KERNEL_SYMBOLS) + " 2>/dev/null").c_str(), "r");
  if (!nm) return address;
  char line[512];
  while (std::fgets(line, sizeof line, nm)) {
    char value[64], type[8], symbol[256];
    if (std::sscanf(line, "%63s %7s %255s", value, type, symbol) == 3 && name == symbol) address = value;
  }
  ::pclose(nm);
  const std::size_t digits = address.find_first_not_of('0');
  return digits == std::string::npos ? address : address.substr(digits);
}

// RIP from a 'g' reply: 16 eight-byte registers, then RIP, little-endian.
std::uint64_t rip_of(const std::string& registers) {
  if (registers.size() < 272) return 0;
  std::uint64_t rip = 0;
  for (int byte = 7; byte >= 0; --byte) rip = rip << 8 | std::stoul(registers.substr(256 + byte * 2, 2), nullptr, 16);
  return rip;
}

std::string ask(RspClient& client, const std::string& packet) {
  client.send(packet);
  return client.receive();
}

// GDB's in-line step-over in all-stop mode, by hand. A thread stopped at a
// breakpoint moves past it with the breakpoint out and "vCont;s:N" only: every
// other thread must stay where it is, or it could run over the missing
// breakpoint, and the stop must be N's. gdb 13.1 aborts otherwise (infrun.c's
// finish_step_over: "Assertion `ecs->event_thread->control.trap_expected'
// failed"): it did so now and then in TwoVcpusAreTwoThreadsAndABreakpointStopsBoth
// until 1436ef9, when "vCont;s:1" also let thread 2 run and its stop came first.
// GDB also takes the registers of the thread a stop reply names with no Hg
// before its 'g' (also 1436ef9).
TEST(Gdb, AStepOverMovesOnlyTheSteppedVcpuAndReportsIt) {
  REQUIRE_KVM();
  const std::string socket = scratch_path("gdb.sock");
  auto vm = start_vmm(socket, {"--gdb-wait", "--vcpus", "2"});
  // Every CPU's tick runs it.
  const std::string tick = kernel_symbol("sched_tick");
  ASSERT_FALSE(tick.empty());
  const std::uint64_t tick_address = std::stoull(tick, nullptr, 16);
  {
    RspClient client(socket);
    ASSERT_TRUE(client.connected());
    EXPECT_EQ(ask(client, "?"), "T05thread:01;");
    ASSERT_EQ(ask(client, "Z0," + tick + ",1"), "OK");
    client.send("vCont;c");
    for (int round = 0; round < 10; ++round) {
      const std::string stop = client.receive();
      std::smatch match;
      ASSERT_TRUE(std::regex_match(stop, match, std::regex("T05thread:0([12]);"))) << "round " << round << ": " << stop;
      const std::string thread = match[1], other = thread == "1" ? "2" : "1";
      EXPECT_EQ(rip_of(ask(client, "g")), tick_address)
          << "round " << round << ": not thread " << thread << "'s registers";
      ASSERT_EQ(ask(client, "Hg" + other), "OK");
      const std::string before = ask(client, "g");
      ASSERT_EQ(ask(client, "z0," + tick + ",1"), "OK");
      for (int step = 0; step < 5; ++step)
        ASSERT_EQ(ask(client, "vCont;s:" + thread), stop) << "round " << round << ", step " << step;
      ASSERT_EQ(ask(client, "Hg" + other), "OK");
      const std::string after = ask(client, "g");
      EXPECT_TRUE(after == before) << "round " << round << ": thread " << other << " ran during thread " << thread
                                   << "'s step-over (rip " << std::hex << rip_of(before) << " -> " << rip_of(after)
                                   << ")";
      ASSERT_EQ(ask(client, "Z0," + tick + ",1"), "OK");
      client.send("vCont;c");
    }
    EXPECT_TRUE(std::regex_match(client.receive(), std::regex("T05thread:0[12];")));
    EXPECT_EQ(ask(client, "z0," + tick + ",1"), "OK");
    EXPECT_EQ(ask(client, "D"), "OK");
  }
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_NE(result.out.find("total "), std::string::npos) << describe(result);
}

TEST(Gdb, GarbageBadChecksumsHugePacketsAndAVanishingClientLeaveTheVmRunning) {
  REQUIRE_KVM();
  const std::string socket = scratch_path("gdb.sock");
  const std::string stats = scratch_path("stats.json");
  auto vm = start_vmm(socket, {"--vcpus", "1", "--stats", stats});
  {
    RspClient client(socket);
    ASSERT_TRUE(client.connected());
    RspClient second(socket);  // one debugger at a time
    client.send_raw("hello garbage");
    client.send_raw("$g#00");  // wrong checksum
    EXPECT_NE(client.drain(500).find('-'), std::string::npos);
    client.send_raw("$" + std::string(1 << 20, 'm') + "#00");
    client.send("qAttached");
    EXPECT_EQ(client.receive(), "1");
    client.send("vMustReplyEmpty");
    EXPECT_EQ(client.receive(), "");
    client.send("m0,zz");  // malformed
    EXPECT_EQ(client.receive().rfind("E", 0), 0u);
    client.send_raw("$m100000,1");  // and gone mid-packet
  }
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, 0) << describe(result);
  EXPECT_NE(result.err.find("refused a second debugger"), std::string::npos) << describe(result);
  std::ifstream file(stats);
  const auto json = nlohmann::json::parse(file, nullptr, false);
  ASSERT_TRUE(json.contains("gdb")) << json.dump();
  const auto& gdb = json["gdb"];
  EXPECT_EQ(gdb["clients"], 1);
  EXPECT_EQ(gdb["refused_clients"], 1);
  EXPECT_GE(gdb["bad_checksums"].get<int>(), 1);
  EXPECT_EQ(gdb["oversized_packets"], 1);
  EXPECT_GT(gdb["garbage_bytes"].get<int>(), 0);
  EXPECT_EQ(gdb["disconnects_mid_packet"], 1);
}

}  // namespace
}  // namespace vmm::testing

namespace vmm::testing {
namespace {

// The debug registers are shared between GDB and the SYSCALL fix-up
// (vmm/kvm/GuestDebug.h). Where the fix-up runs (KVM emulates guest ring 0:
// no VMX or SVM on the host), GDB gets three hardware breakpoints and a clear
// refusal of a fourth, and the fix-up keeps working with GDB's three set:
// crash=syscall still enters ring 0 (debug-exit 6). On hardware
// virtualization GDB gets all four.
TEST(Gdb, HardwareBreakpointsAndTheSyscallFixupShareTheDebugRegisters) {
  REQUIRE_KVM();
  const bool emulated = !host_has_hardware_virtualization();
  const std::string socket = scratch_path("gdb.sock");
  VmmRun run;
  run.args = {"run", "--gdb", "unix:" + socket, "--gdb-wait", "--vcpus", "1", "--cmdline", "tasks=1 crash=syscall",
              "--timeout", "60s"};
  run.limit = std::chrono::seconds(90);
  auto vm = std::async(std::launch::async, [run] { return run_vmm(run); });
  RspClient client(socket);
  ASSERT_TRUE(client.connected());
  client.send("?");
  EXPECT_EQ(client.receive().rfind("T05thread:", 0), 0u);
  // Execute breakpoints where the guest never goes.
  for (const char* address : {"7fff0000", "7fff1000", "7fff2000"}) {
    client.send(std::string("Z1,") + address + ",1");
    EXPECT_EQ(client.receive(), "OK") << address;
  }
  client.send("Z1,7fff3000,1");
  const std::string fourth = client.receive();
  if (emulated) {
    EXPECT_EQ(fourth.rfind("E", 0), 0u) << fourth;
  } else {
    EXPECT_EQ(fourth, "OK");
  }
  client.send("c");
  EXPECT_EQ(client.receive(60000), "W06") << "SYSCALL from ring 3 reached its ring-0 entry";
  const auto result = vm.get();
  EXPECT_EQ(result.exit_status, 6) << describe(result);
  EXPECT_NE(result.out.find("syscall: entered ring 0 from ring 3, cs=0x8"), std::string::npos) << describe(result);
  if (emulated) {
    EXPECT_NE(result.err.find("no debug register left for another hardware breakpoint or watchpoint: 3 in use (the "
                              "fourth completes the SYSCALLs this host leaves half done)"),
              std::string::npos)
        << result.err;
  }
}

}  // namespace
}  // namespace vmm::testing
