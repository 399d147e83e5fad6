#pragma once
// What each kind of vmm thread may ask of the kernel once it is set up: one
// table, read by SeccompFilters to build the filters and by docs/seccomp.md's
// test to keep the documentation true. Everything else traps (SIGSYS).

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vmm::security {

enum class ThreadKind : unsigned { EventLoop, Vcpu, SerialWriter };
inline constexpr ThreadKind kThreadKinds[] = {ThreadKind::EventLoop, ThreadKind::Vcpu, ThreadKind::SerialWriter};

// "event loop", "vCPU", "serial writer": as the messages and the documentation say it.
std::string_view thread_kind_name(ThreadKind kind);

// A condition on one argument of a system call; a call with no condition is
// allowed whatever its arguments.
struct ArgumentCondition {
  enum class Test { Any, OneOf, MaskedBitsClear } test = Test::Any;
  unsigned index = 0;                  // 0 for the first argument
  std::vector<std::uint64_t> values;   // OneOf: the argument equals one of these
  std::uint64_t mask = 0;              // MaskedBitsClear: (argument & mask) == 0
  std::vector<std::string_view> value_names;  // OneOf, for the documentation
};

struct AllowedSyscall {
  std::string_view name;  // as libseccomp and syscalls(2) name it
  std::vector<ThreadKind> kinds;
  ArgumentCondition condition;
  std::string_view why;
};

// The whole table, in the order of docs/seccomp.md. In sanitizer builds it
// also holds what the sanitizers' runtimes call (their reports, LSan's leak
// check at exit), marked as such.
std::span<const AllowedSyscall> allow_list();

// The entries of allow_list() for `kind`.
std::vector<AllowedSyscall> allow_list_for(ThreadKind kind);

}  // namespace vmm::security
