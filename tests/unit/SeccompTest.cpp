// The per-thread seccomp filters: each kind's program refuses what its
// allow-list leaves out (the offending thread reports itself and vmm exits
// with 128 + SIGSYS), lets through what the thread needs, and is documented
// call by call in docs/seccomp.md.

#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "vmm/security/SeccompFilters.h"

namespace vmm::security {
namespace {

constexpr int kViolationStatus = 128 + SIGSYS;

// Runs `body` on a new thread confined as `kind`, then ends the process with
// status 0: only a death test calls this.
[[noreturn]] void run_confined(ThreadKind kind, const std::function<void()>& body) {
  const SeccompFilters filters = SeccompFilters::enabled_filters();
  std::thread confined([&] {
    pthread_setname_np(pthread_self(), "confined");
    filters.confine_current_thread(kind);
    body();
  });
  confined.join();
  std::_Exit(0);
}

struct Forbidden {
  const char* label;
  ThreadKind kind;
  const char* syscall;  // as the report names it
  std::function<void()> call;
};

class ForbiddenCall : public ::testing::TestWithParam<Forbidden> {};

TEST_P(ForbiddenCall, KillsVmmWithAReportNamingTheThreadAndTheCall) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Forbidden& forbidden = GetParam();
  const std::string report = "vmm: seccomp: the " + std::string(thread_kind_name(forbidden.kind)) +
                             " thread \"confined\" made system call " + forbidden.syscall + " \\([0-9]+\\), which its "
                             "allow-list forbids";
  EXPECT_EXIT(run_confined(forbidden.kind, forbidden.call), ::testing::ExitedWithCode(kViolationStatus), report);
}

void open_a_file() { ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); }
void open_a_socket() { ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }
void start_a_program() {
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  ::syscall(SYS_execve, "/bin/true", argv, nullptr);
}
void map_executable_memory() { ::syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }
void ask_the_terminal() {
  termios mode;
  ::syscall(SYS_ioctl, 0, TCGETS, &mode);
}
void run_a_vcpu() { ::syscall(SYS_ioctl, 0, KVM_RUN, 0); }
void create_a_vm() { ::syscall(SYS_ioctl, 0, KVM_CREATE_VM, 0); }
void read_stdin() {
  char byte;
  ::syscall(SYS_read, 0, &byte, 1);
}

INSTANTIATE_TEST_SUITE_P(
    EveryThreadKind, ForbiddenCall,
    ::testing::Values(Forbidden{"vcpu_socket", ThreadKind::Vcpu, "socket", open_a_socket},
                      Forbidden{"vcpu_openat", ThreadKind::Vcpu, "openat", open_a_file},
                      Forbidden{"vcpu_execve", ThreadKind::Vcpu, "execve", start_a_program},
                      Forbidden{"vcpu_exec_mapping", ThreadKind::Vcpu, "mmap", map_executable_memory},
                      Forbidden{"vcpu_terminal_ioctl", ThreadKind::Vcpu, "ioctl", ask_the_terminal},
                      Forbidden{"vcpu_create_vm", ThreadKind::Vcpu, "ioctl", create_a_vm},
                      Forbidden{"vcpu_read", ThreadKind::Vcpu, "read", read_stdin},
                      Forbidden{"event_loop_socket", ThreadKind::EventLoop, "socket", open_a_socket},
                      Forbidden{"event_loop_openat", ThreadKind::EventLoop, "openat", open_a_file},
                      Forbidden{"event_loop_execve", ThreadKind::EventLoop, "execve", start_a_program},
                      Forbidden{"event_loop_kvm_run", ThreadKind::EventLoop, "ioctl", run_a_vcpu},
                      Forbidden{"event_loop_exec_mapping", ThreadKind::EventLoop, "mmap", map_executable_memory},
                      Forbidden{"serial_writer_read", ThreadKind::SerialWriter, "read", read_stdin},
                      Forbidden{"serial_writer_openat", ThreadKind::SerialWriter, "openat", open_a_file},
                      Forbidden{"serial_writer_ioctl", ThreadKind::SerialWriter, "ioctl", ask_the_terminal},
                      Forbidden{"serial_writer_socket", ThreadKind::SerialWriter, "socket", open_a_socket}),
    [](const auto& info) { return std::string(info.param.label); });

// What a vCPU thread does on its exit path and at its end still works: locks,
// allocation, an eventfd write (an irqfd), a kick from another thread.
TEST(SeccompFilters, AVcpuThreadKeepsWhatItNeeds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto body = [] {
    const int irqfd = ::eventfd(0, EFD_CLOEXEC);  // made during set-up, as vmm's irqfds are
    run_confined(ThreadKind::Vcpu, [irqfd] {
      std::mutex mutex;
      std::lock_guard lock(mutex);
      std::vector<char> block(8 << 20, 1);  // malloc's mmap path
      const std::uint64_t one = 1;
      if (::write(irqfd, &one, sizeof one) != sizeof one) std::_Exit(1);
      std::fprintf(stderr, "a confined vCPU thread still works (%zu bytes)\n", block.size());
    });
  };
  EXPECT_EXIT(body(), ::testing::ExitedWithCode(0), "a confined vCPU thread still works");
}

// The calls that create a filter-free escape are absent from every kind.
TEST(SeccompFilters, NoKindMayStartThreadsProgramsOrOpenFiles) {
  for (ThreadKind kind : kThreadKinds) {
    for (const auto& entry : allow_list_for(kind)) {
      if (entry.why.starts_with("sanitizer")) continue;  // LeakSanitizer's exit-time tracer, in those builds only
      for (std::string_view banned : {"clone", "clone3", "fork", "vfork", "execve", "execveat", "open", "openat",
                                      "socket", "connect", "bind", "ptrace", "seccomp", "prctl"})
        EXPECT_NE(entry.name, banned) << thread_kind_name(kind);
    }
  }
}

TEST(SeccompFilters, EveryKindCompilesToAProgram) {
  const SeccompFilters filters = SeccompFilters::enabled_filters();
  EXPECT_TRUE(filters.enabled());
  for (ThreadKind kind : kThreadKinds) EXPECT_GT(filters.instructions(kind), 10u) << thread_kind_name(kind);
  EXPECT_FALSE(SeccompFilters::disabled().enabled());
}

// docs/seccomp.md has one section per thread kind, its heading starting with
// the kind's name, and one ("Every thread") for what every kind may do; each
// lists exactly its calls as `name` in the first column of its table.
std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::map<std::string, std::set<std::string>> documented_calls() {
  std::ifstream doc(VMM_SOURCE_DIR "/docs/seccomp.md");
  std::map<std::string, std::set<std::string>> sections;
  std::string line, section;
  while (std::getline(doc, line)) {
    if (line.rfind("## ", 0) == 0) section = lowercase(line.substr(3));
    if (line.rfind("| `", 0) != 0 || section.empty()) continue;
    const auto end = line.find('`', 3);
    sections[section].insert(line.substr(3, end - 3));
  }
  return sections;
}

TEST(SeccompFilters, DocumentationListsEveryCallOfEveryKind) {
  std::map<std::string, std::set<std::string>> expected;
  for (const auto& entry : allow_list()) {
    if (entry.why.starts_with("sanitizer")) continue;  // sanitizer builds only, documented as a group
    ASSERT_TRUE(entry.kinds.size() == 1 || entry.kinds.size() == std::size(kThreadKinds)) << entry.name;
    const std::string section =
        entry.kinds.size() == 1 ? lowercase(std::string(thread_kind_name(entry.kinds.front()))) : "every thread";
    expected[section].insert(std::string(entry.name));
  }
  const auto documented = documented_calls();
  for (const auto& [prefix, calls] : expected) {
    // A named copy: Clang before 16 cannot capture a structured binding.
    const std::string& wanted = prefix;
    auto section = std::find_if(documented.begin(), documented.end(),
                                [&](const auto& each) { return each.first.rfind(wanted, 0) == 0; });
    ASSERT_NE(section, documented.end()) << "docs/seccomp.md lacks a section \"## " << prefix << "...\"";
    EXPECT_EQ(section->second, calls) << "section " << section->first;
  }
}

}  // namespace
}  // namespace vmm::security
