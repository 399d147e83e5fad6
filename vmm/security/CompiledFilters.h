#pragma once
// The seccomp programs of AllowList.cpp's allow-lists, compiled to BPF when vmm
// is built (FilterCompiler.cpp, through libseccomp), and the system calls'
// names for the violation report. A run installs them as they are: no
// compilation at start-up, and libseccomp is not in the vmm binary.

#include <linux/filter.h>

#include <span>

#include "vmm/security/AllowList.h"

namespace vmm::security::compiled {

// Indexed by ThreadKind.
extern const std::span<const sock_filter> kPrograms[std::size(kThreadKinds)];

// Indexed by system call number (x86_64); null where libseccomp knows no name.
inline constexpr int kNamedSyscalls = 512;
extern const char* const kSyscallNames[kNamedSyscalls];

}  // namespace vmm::security::compiled
