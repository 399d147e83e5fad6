#include "vmm/security/SeccompFilters.h"

#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include "vmm/Errors.h"
#include "vmm/ExitStatus.h"
#include "vmm/security/CompiledFilters.h"

namespace vmm::security {

namespace {

// Who the calling thread is, for the report; set as it confines itself.
thread_local const char* t_kind_name = nullptr;
thread_local char t_thread_name[16] = {};

// Async-signal-safe output: no stdio, no allocation.
void append(char*& at, const char* end, const char* text) {
  while (*text && at < end) *at++ = *text++;
}

void append_number(char*& at, const char* end, long value) {
  char digits[24];
  int count = 0;
  unsigned long magnitude = value < 0 ? 0ul - static_cast<unsigned long>(value) : static_cast<unsigned long>(value);
  do digits[count++] = static_cast<char>('0' + magnitude % 10);
  while ((magnitude /= 10) && count < 23);
  if (value < 0 && at < end) *at++ = '-';
  while (count && at < end) *at++ = digits[--count];
}

void report_violation(int, siginfo_t* info, void*) {
  char message[512] = {};
  char* at = message;
  const char* end = message + sizeof message - 1;
  const int nr = info->si_syscall;
  append(at, end, "vmm: seccomp: the ");
  append(at, end, t_kind_name ? t_kind_name : "unconfined");
  append(at, end, " thread \"");
  append(at, end, t_thread_name);
  append(at, end, "\" made system call ");
  const char* name = nr >= 0 && nr < compiled::kNamedSyscalls ? compiled::kSyscallNames[nr] : nullptr;
  append(at, end, name ? name : "?");
  append(at, end, " (");
  append_number(at, end, nr);
  append(at, end, "), which its allow-list forbids (docs/seccomp.md); vmm stops. "
                  "If --no-seccomp makes this go away, please report it as a bug in vmm.\n");
  *at = '\0';
  [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, message, static_cast<std::size_t>(at - message));
  ::_exit(exit_status::kSignalBase + SIGSYS);
}

void prepare_reports() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action{};
    action.sa_sigaction = report_violation;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSYS, &action, nullptr);
  });
}

}  // namespace

SeccompFilters SeccompFilters::enabled_filters() {
  prepare_reports();
  SeccompFilters filters;
  for (ThreadKind kind : kThreadKinds)
    filters.programs_[static_cast<std::size_t>(kind)] = compiled::kPrograms[static_cast<std::size_t>(kind)];
  filters.enabled_ = true;
  return filters;
}

void SeccompFilters::confine_current_thread(ThreadKind kind) const {
  if (!enabled_) return;
  t_kind_name = thread_kind_name(kind).data();  // a string literal: NUL-terminated
  ::pthread_getname_np(::pthread_self(), t_thread_name, sizeof t_thread_name);
  // The report needs SIGSYS delivered: a blocked SIGSYS from a trap kills the
  // process without a word.
  sigset_t sigsys;
  sigemptyset(&sigsys);
  sigaddset(&sigsys, SIGSYS);
  ::pthread_sigmask(SIG_UNBLOCK, &sigsys, nullptr);

  const auto& program = programs_[static_cast<std::size_t>(kind)];
  sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
  // Without CAP_SYS_ADMIN the kernel takes a filter only with no_new_privs;
  // vmm never executes anything, so it costs nothing to set it always.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
    throw HostError("seccomp: the kernel refused the " + std::string(thread_kind_name(kind)) + " thread's filter: " +
                    std::strerror(errno) + " (run with --no-seccomp where seccomp is unavailable)");
}

}  // namespace vmm::security
