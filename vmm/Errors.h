#pragma once
// The two tiers of set-up failures, each with its exit status. Run-time guest
// misbehaviour is never an exception: it is counted, logged and survived, or it
// ends the run with a guest status (see ExitStatus.h).

#include <stdexcept>

namespace vmm {

// Bad input from the user: command line, config, kernel image, sizes. Exit 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The host refused: /dev/kvm missing, a KVM capability or ioctl failed. Exit 120.
class HostError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace vmm
