// The reference for vmm's benchmarks: the smallest raw-KVM programs that measure
// what this machine's KVM can do, with no vmm code in the way. Benchmarks report
// vmm's figures as ratios to these, measured in the same run.
//
//   bench_reference pio N    N port-I/O exits of a real-mode `out` loop: ns per exit
//   bench_reference tsc-khz  the host TSC rate (the guest's, under KVM) in kHz
//
// Deliberately self-contained: raw ioctls, no project code.

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "bench_reference: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

int checked(int result, const char* what) {
  if (result < 0) die(what);
  return result;
}

int pio(long exits) {
  const int kvm = checked(::open("/dev/kvm", O_RDWR | O_CLOEXEC), "open /dev/kvm");
  const int vm = checked(::ioctl(kvm, KVM_CREATE_VM, 0), "KVM_CREATE_VM");
  constexpr std::size_t kMemory = 0x10000;
  auto* memory = static_cast<std::uint8_t*>(
      ::mmap(nullptr, kMemory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (memory == MAP_FAILED) die("mmap");
  // mov dx, 0x80; 1: out dx, al; jmp 1b
  const std::uint8_t code[] = {0xba, 0x80, 0x00, 0xee, 0xeb, 0xfd};
  std::memcpy(memory + 0x1000, code, sizeof code);
  kvm_userspace_memory_region region{0, 0, 0, kMemory, reinterpret_cast<std::uint64_t>(memory)};
  checked(::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region), "KVM_SET_USER_MEMORY_REGION");
  const int vcpu = checked(::ioctl(vm, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU");
  const int run_size = checked(::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), "KVM_GET_VCPU_MMAP_SIZE");
  auto* run = static_cast<kvm_run*>(::mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0));
  if (run == MAP_FAILED) die("mmap kvm_run");
  kvm_sregs sregs{};
  checked(::ioctl(vcpu, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  checked(::ioctl(vcpu, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");
  kvm_regs regs{};
  regs.rip = 0x1000;
  regs.rflags = 0x2;
  checked(::ioctl(vcpu, KVM_SET_REGS, &regs), "KVM_SET_REGS");

  // One warm-up exit, then the timed ones.
  checked(::ioctl(vcpu, KVM_RUN, 0), "KVM_RUN");
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < exits; ++i) {
    checked(::ioctl(vcpu, KVM_RUN, 0), "KVM_RUN");
    if (run->exit_reason != KVM_EXIT_IO) {
      std::fprintf(stderr, "bench_reference: unexpected exit %u\n", run->exit_reason);
      return 1;
    }
  }
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  std::printf("pio exits=%ld ns_per_exit=%.1f exits_per_second=%.0f\n", exits, ns / exits, exits / ns * 1e9);
  return 0;
}

int tsc_khz() {
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t tsc_start = __rdtsc();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200)) {
  }
  const std::uint64_t cycles = __rdtsc() - tsc_start;
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  std::printf("tsc_khz=%.0f\n", cycles / ns * 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "pio") return pio(argc > 2 ? std::atol(argv[2]) : 100000);
  if (command == "tsc-khz") return tsc_khz();
  std::fprintf(stderr, "usage: bench_reference pio [N] | tsc-khz\n");
  return 2;
}
