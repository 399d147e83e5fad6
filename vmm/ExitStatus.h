#pragma once
// Exit statuses of `vmm run`. A guest ends the run through debug-exit with any
// byte it likes, so these overlap guest values by necessity; they sit high, where
// guests rarely go, and are documented in docs/exit-status.md.

#include <cstdint>

namespace vmm::exit_status {

constexpr int kSuccess = 0;          // guest powered off, or debug-exit 0
constexpr int kInputError = 2;       // bad command line, config or kernel image
constexpr int kHostError = 120;      // KVM or the host failed us
constexpr int kGuestCrash = 121;     // triple fault, emulation failure, failed entry
constexpr int kUnexpectedExit = 122; // a vCPU exit reason we do not handle
constexpr int kScenarioFailed = 123; // a step of the config's scenario failed (docs/scenarios.md)
constexpr int kTimeout = 124;        // --timeout expired (as GNU timeout)
constexpr int kSignalBase = 128;     // stopped by SIGINT/SIGTERM: 128 + signal number

}  // namespace vmm::exit_status
