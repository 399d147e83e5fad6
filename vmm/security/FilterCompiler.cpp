// seccomp_filter_compiler OUTPUT.cpp: compiles each thread kind's allow-list
// (AllowList.cpp) to a seccomp BPF program with libseccomp, and writes the
// programs and the system calls' names as C++ (CompiledFilters.h) for the
// vmm binary. It runs at build time, so a run only installs the programs, and
// a libseccomp that cannot build a filter fails the build, not a user's run.

#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <linux/filter.h>

#include "base/UniqueFd.h"
#include "vmm/security/AllowList.h"
#include "vmm/security/CompiledFilters.h"

namespace {

using vmm::security::AllowedSyscall;
using vmm::security::ArgumentCondition;
using vmm::security::ThreadKind;

struct ContextDeleter {
  void operator()(void* context) const { ::seccomp_release(context); }
};

std::vector<sock_filter> compile_kind(ThreadKind kind) {
  std::unique_ptr<void, ContextDeleter> context(::seccomp_init(SCMP_ACT_TRAP));
  if (!context) throw std::runtime_error("libseccomp could not start a filter");
  const std::string kind_name(vmm::security::thread_kind_name(kind));
  auto check = [&](int result, std::string_view what) {
    if (result < 0)
      throw std::runtime_error("the " + kind_name + " filter: " + std::string(what) + ": " + std::strerror(-result));
  };
  for (const AllowedSyscall& entry : vmm::security::allow_list_for(kind)) {
    const std::string name(entry.name);
    const int nr = ::seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) throw std::runtime_error("libseccomp does not know the system call " + name);
    const ArgumentCondition& condition = entry.condition;
    switch (condition.test) {
      case ArgumentCondition::Test::Any: check(::seccomp_rule_add(context.get(), SCMP_ACT_ALLOW, nr, 0), name); break;
      case ArgumentCondition::Test::OneOf:
        for (std::uint64_t value : condition.values)
          check(::seccomp_rule_add(context.get(), SCMP_ACT_ALLOW, nr, 1,
                                   SCMP_CMP(condition.index, SCMP_CMP_EQ, value, 0)),
                name);
        break;
      case ArgumentCondition::Test::MaskedBitsClear:
        check(::seccomp_rule_add(context.get(), SCMP_ACT_ALLOW, nr, 1,
                                 SCMP_CMP(condition.index, SCMP_CMP_MASKED_EQ, condition.mask, 0)),
              name);
        break;
    }
  }
  // libseccomp 2.5 exports only to a file descriptor.
  vmm::UniqueFd memory(::memfd_create("vmm-seccomp", MFD_CLOEXEC));
  if (!memory.valid()) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
  check(::seccomp_export_bpf(context.get(), memory.get()), "exporting the program");
  const off_t bytes = ::lseek(memory.get(), 0, SEEK_END);
  if (bytes <= 0 || bytes % sizeof(sock_filter) != 0) throw std::runtime_error("libseccomp exported no program");
  std::vector<sock_filter> program(static_cast<std::size_t>(bytes) / sizeof(sock_filter));
  if (::pread(memory.get(), program.data(), static_cast<std::size_t>(bytes), 0) != bytes)
    throw std::runtime_error(std::string("reading the program back: ") + std::strerror(errno));
  return program;
}

std::string identifier(ThreadKind kind) { return std::string("kKind").append(std::to_string(static_cast<unsigned>(kind))); }

void write_source(std::ostream& out) {
  out << "// Generated at build time by vmm/security/FilterCompiler.cpp from vmm/security/AllowList.cpp.\n"
         "#include \"vmm/security/CompiledFilters.h\"\n\n"
         "namespace vmm::security::compiled {\n"
         "namespace {\n";
  for (ThreadKind kind : vmm::security::kThreadKinds) {
    out << "\n// The " << vmm::security::thread_kind_name(kind) << " thread.\n"
        << "constexpr sock_filter " << identifier(kind) << "[] = {\n";
    char line[64];
    for (const sock_filter& instruction : compile_kind(kind)) {
      std::snprintf(line, sizeof line, "    {0x%04x, %u, %u, 0x%08x},\n", instruction.code, instruction.jt,
                    instruction.jf, instruction.k);
      out << line;
    }
    out << "};\n";
  }
  out << "\n}  // namespace\n\n"
         "const std::span<const sock_filter> kPrograms[std::size(kThreadKinds)] = {";
  for (ThreadKind kind : vmm::security::kThreadKinds) out << identifier(kind) << ", ";
  out << "};\n\n"
         "const char* const kSyscallNames[kNamedSyscalls] = {\n";
  for (int nr = 0; nr < vmm::security::compiled::kNamedSyscalls; ++nr) {
    const char* name = ::seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name)
      out << "    \"" << name << "\",\n";
    else
      out << "    nullptr,\n";
    std::free(const_cast<char*>(name));
  }
  out << "};\n\n}  // namespace vmm::security::compiled\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seccomp_filter_compiler OUTPUT.cpp\n");
    return 2;
  }
  try {
    const std::string output = argv[1], partial = output + ".partial";
    {
      std::ofstream out(partial);
      write_source(out);
      if (!out.flush()) throw std::runtime_error("cannot write " + partial);
    }
    if (std::rename(partial.c_str(), output.c_str()) != 0)
      throw std::runtime_error("cannot rename " + partial + ": " + std::strerror(errno));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "seccomp_filter_compiler: %s\n", error.what());
    return 1;
  }
  return 0;
}
