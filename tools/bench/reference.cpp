// The reference for vmm's benchmarks: the smallest raw-KVM programs that measure
// what this machine's KVM can do, with no vmm code in the way. Benchmarks report
// vmm's figures as ratios to these, measured in the same run.
//
//   bench_reference pio N    N port-I/O exits of a real-mode `out` loop: ns per exit
//   bench_reference boot KERNEL [irqchip]
//                            boots a Multiboot ELF32 guest (tools/bench's guests)
//                            with what vmm's trivial platform answers: COM1 output
//                            goes to stdout as it is written, port 0x80 and MMIO
//                            writes are taken and dropped, debug-exit (0xF4) ends
//                            the program; a halt (no interrupt can come) waits for
//                            a signal. Start-up, memory and exit-cost benchmarks
//                            run the same image under vmm and under this. With
//                            irqchip, KVM's PIC/IOAPIC/LAPIC are created too, as
//                            vmm always does (their teardown dominates exit time).
//   bench_reference tsc-khz  the host TSC rate (the guest's, under KVM) in kHz
//   bench_reference irq KERNEL CMDLINE GSI N INTERVAL_US
//                            boots the bundled Multiboot kernel (the same guest
//                            code vmm runs) on bare KVM with an in-kernel irqchip,
//                            injects N edges on GSI through an irqfd, paced
//                            INTERVAL_US apart, and times each from the eventfd
//                            write to the guest handler's write to port 0x520
//                            (every latency, sorted, to SAMPLES_FILE if given)
//
// Deliberately self-contained: raw ioctls, no project code.

#include <elf.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

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

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// A Multiboot v1 ELF32 load, just enough for our own kernel: PT_LOAD segments by
// physical address, then the info block (flags: memory, cmdline) after the image.
std::uint32_t load_multiboot(const std::string& path, std::uint8_t* memory, std::size_t size,
                             const std::string& cmdline, std::uint32_t& info) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<std::uint8_t> image((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (image.size() < sizeof(Elf32_Ehdr)) die("kernel image");
  Elf32_Ehdr ehdr;
  std::memcpy(&ehdr, image.data(), sizeof ehdr);
  std::uint32_t end = 0;
  for (unsigned i = 0; i < ehdr.e_phnum; ++i) {
    Elf32_Phdr phdr;
    std::memcpy(&phdr, image.data() + ehdr.e_phoff + i * sizeof phdr, sizeof phdr);
    if (phdr.p_type != PT_LOAD) continue;
    if (phdr.p_paddr + phdr.p_memsz > size || phdr.p_offset + phdr.p_filesz > image.size()) die("kernel segment");
    std::memcpy(memory + phdr.p_paddr, image.data() + phdr.p_offset, phdr.p_filesz);
    std::memset(memory + phdr.p_paddr + phdr.p_filesz, 0, phdr.p_memsz - phdr.p_filesz);
    end = std::max(end, phdr.p_paddr + phdr.p_memsz);
  }
  info = (end + 0xfff) & ~0xfffu;
  const std::uint32_t text = info + 128;
  std::memset(memory + info, 0, 128);
  const std::uint32_t fields[] = {0x5, 639, static_cast<std::uint32_t>((size - 0x100000) / 1024), 0, text};
  std::memcpy(memory + info, fields, sizeof fields);
  std::memcpy(memory + text, cmdline.c_str(), cmdline.size() + 1);
  return ehdr.e_entry;
}

struct GuestVm {
  int kvm = -1, vm = -1, vcpu = -1;
  kvm_run* run = nullptr;
};

// One VM, one vCPU in 32-bit protected mode at the kernel's Multiboot entry,
// optionally with KVM's irqchip (and its default GSI routing) for interrupts.
GuestVm create_multiboot_vm(const std::string& kernel, const std::string& cmdline, std::size_t memory_size,
                            bool irqchip) {
  GuestVm guest;
  guest.kvm = checked(::open("/dev/kvm", O_RDWR | O_CLOEXEC), "open /dev/kvm");
  guest.vm = checked(::ioctl(guest.kvm, KVM_CREATE_VM, 0), "KVM_CREATE_VM");
  const int kvm = guest.kvm, vm = guest.vm;
  checked(::ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000), "KVM_SET_TSS_ADDR");
  auto* memory = static_cast<std::uint8_t*>(
      ::mmap(nullptr, memory_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (memory == MAP_FAILED) die("mmap");
  kvm_userspace_memory_region region{0, 0, 0, memory_size, reinterpret_cast<std::uint64_t>(memory)};
  checked(::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region), "KVM_SET_USER_MEMORY_REGION");
  if (irqchip) checked(::ioctl(vm, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");

  const int vcpu = guest.vcpu = checked(::ioctl(vm, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU");
  // CPUID as KVM supports it (long mode needs it); the C layout of kvm_cpuid2.
  std::vector<std::uint8_t> cpuid(8 + 256 * sizeof(kvm_cpuid_entry2));
  std::uint32_t entries = 256;
  std::memcpy(cpuid.data(), &entries, 4);
  checked(::ioctl(kvm, _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8), cpuid.data()), "KVM_GET_SUPPORTED_CPUID");
  checked(::ioctl(vcpu, _IOC(_IOC_WRITE, KVMIO, 0x90, 8), cpuid.data()), "KVM_SET_CPUID2");
  if (irqchip) {
    kvm_lapic_state lapic{};
    checked(::ioctl(vcpu, KVM_GET_LAPIC, &lapic), "KVM_GET_LAPIC");
    const std::uint32_t lint0 = 0x700, lint1 = 0x400;  // ExtINT, NMI
    std::memcpy(&lapic.regs[0x350], &lint0, 4);
    std::memcpy(&lapic.regs[0x360], &lint1, 4);
    checked(::ioctl(vcpu, KVM_SET_LAPIC, &lapic), "KVM_SET_LAPIC");
  }

  std::uint32_t info = 0;
  const std::uint32_t entry = load_multiboot(kernel, memory, memory_size, cmdline, info);
  kvm_sregs sregs{};
  checked(::ioctl(vcpu, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
  kvm_segment code{};
  code.limit = 0xffffffff;
  code.selector = 0x10;
  code.type = 0xb;
  code.present = code.db = code.s = code.g = 1;
  kvm_segment data = code;
  data.selector = 0x18;
  data.type = 0x3;
  sregs.cs = code;
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  sregs.cr0 = (sregs.cr0 | 1) & ~0x80000000ull;
  sregs.cr4 = 0;
  sregs.efer = 0;
  checked(::ioctl(vcpu, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");
  kvm_regs regs{};
  regs.rip = entry;
  regs.rax = 0x2badb002;
  regs.rbx = info;
  regs.rflags = 0x2;
  checked(::ioctl(vcpu, KVM_SET_REGS, &regs), "KVM_SET_REGS");
  const int run_size = checked(::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), "KVM_GET_VCPU_MMAP_SIZE");
  guest.run = static_cast<kvm_run*>(::mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0));
  if (guest.run == MAP_FAILED) die("mmap kvm_run");
  return guest;
}

int boot(const std::string& kernel, bool irqchip) {
  const GuestVm guest = create_multiboot_vm(kernel, "reference", 16 << 20, irqchip);
  for (;;) {
    if (::ioctl(guest.vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR) continue;
      die("KVM_RUN");
    }
    kvm_run& run = *guest.run;
    if (run.exit_reason == KVM_EXIT_MMIO) {
      if (!run.mmio.is_write) std::memset(run.mmio.data, 0xff, sizeof run.mmio.data);
      continue;
    }
    if (run.exit_reason == KVM_EXIT_HLT) {
      ::pause();
      return 0;
    }
    if (run.exit_reason != KVM_EXIT_IO) {
      std::fprintf(stderr, "bench_reference: guest exit %u\n", run.exit_reason);
      return 1;
    }
    auto* bytes = reinterpret_cast<std::uint8_t*>(&run) + run.io.data_offset;
    if (run.io.direction == KVM_EXIT_IO_IN) {
      std::memset(bytes, run.io.port == 0x3fd ? 0x60 : 0xff, run.io.size * run.io.count);
    } else if (run.io.port == 0x3f8) {
      if (::write(STDOUT_FILENO, bytes, 1) != 1) die("write");  // at once, as vmm's serial output
    } else if (run.io.port == 0xf4) {
      return bytes[0];
    }
  }
}

int irq(const std::string& kernel, const std::string& cmdline, std::uint32_t gsi, long count, long interval_us,
        const char* samples_path) {
  const GuestVm guest = create_multiboot_vm(kernel, "reference " + cmdline, 64 << 20, true);
  const int vm = guest.vm, vcpu = guest.vcpu;
  kvm_run* const run = guest.run;
  const int trigger = checked(::eventfd(0, EFD_CLOEXEC), "eventfd");
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<std::uint32_t>(trigger);
  irqfd.gsi = gsi;
  checked(::ioctl(vm, KVM_IRQFD, &irqfd), "KVM_IRQFD");

  // The vCPU thread answers the ports the guest needs (COM1 says "transmitter
  // empty"; output is dropped), timestamps acknowledgements and ends at debug-exit.
  std::atomic<std::uint64_t> acknowledged_at{0};
  std::atomic<bool> ready{false}, finished{false};
  std::thread vcpu_thread([&] {
    while (!finished) {
      if (::ioctl(vcpu, KVM_RUN, 0) < 0) {
        if (errno == EINTR) continue;
        die("KVM_RUN");
      }
      if (run->exit_reason != KVM_EXIT_IO) {
        std::fprintf(stderr, "bench_reference: guest exit %u\n", run->exit_reason);
        std::exit(1);
      }
      auto* bytes = reinterpret_cast<std::uint8_t*>(run) + run->io.data_offset;
      const bool out = run->io.direction == KVM_EXIT_IO_OUT;
      if (out && run->io.port == 0x520) acknowledged_at = now_ns();
      else if (out && run->io.port == 0x3f8 && bytes[0] == '\n') ready = true;  // the guest has booted
      else if (out && run->io.port == 0xf4) finished = true;
      else if (!out) std::memset(bytes, run->io.port == 0x3fd ? 0x60 : 0xff, run->io.size * run->io.count);
    }
  });

  while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let it finish its set-up lines
  std::vector<std::uint64_t> latencies;
  std::uint64_t next = now_ns();
  for (long i = 0; i < count; ++i) {
    next += static_cast<std::uint64_t>(interval_us) * 1000;
    while (now_ns() < next) std::this_thread::sleep_for(std::chrono::microseconds(50));
    acknowledged_at = 0;
    const std::uint64_t sent = now_ns();
    const std::uint64_t one = 1;
    if (::write(trigger, &one, sizeof one) != sizeof one) die("eventfd write");
    while (acknowledged_at == 0 && now_ns() - sent < 1'000'000'000) {
    }
    if (acknowledged_at != 0) latencies.push_back(acknowledged_at - sent);
  }
  std::sort(latencies.begin(), latencies.end());
  if (samples_path) {
    std::ofstream samples(samples_path);
    for (const std::uint64_t latency : latencies) samples << latency << '\n';
  }
  if (latencies.empty()) {
    std::fprintf(stderr, "bench_reference: the guest acknowledged nothing\n");
    std::exit(1);
  }
  std::printf("irq injections=%ld acknowledged=%zu p50_ns=%llu p99_ns=%llu max_ns=%llu\n", count, latencies.size(),
              static_cast<unsigned long long>(latencies[latencies.size() / 2]),
              static_cast<unsigned long long>(latencies[latencies.size() * 99 / 100]),
              static_cast<unsigned long long>(latencies.back()));
  std::fflush(stdout);
  std::_Exit(0);  // the guest idles forever; no need to stop it politely
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
  if (command == "boot" && argc == 3) return boot(argv[2], false);
  if (command == "boot" && argc == 4 && std::string(argv[3]) == "irqchip") return boot(argv[2], true);
  if (command == "irq" && (argc == 7 || argc == 8))
    return irq(argv[2], argv[3], static_cast<std::uint32_t>(std::atol(argv[4])), std::atol(argv[5]), std::atol(argv[6]),
               argc == 8 ? argv[7] : nullptr);
  std::fprintf(stderr, "usage: bench_reference pio [N] | tsc-khz | boot KERNEL [irqchip] | irq KERNEL CMDLINE GSI N INTERVAL_US [SAMPLES_FILE]\n");
  return 2;
}
