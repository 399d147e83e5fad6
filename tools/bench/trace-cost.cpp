// bench_trace_cost: what one trace event costs vmm, in-process and without a
// VM, so the figure is not lost in an exit's noise: a vCPU thread's record
// (three clock reads and a push into its ring, as VcpuRunner does per exit)
// with the event loop draining it concurrently, and the event loop's share
// (TraceWriter turning one exit record into its two JSON events, written to
// /dev/null). Prints one JSON object: ns per record and per event.

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "devices/Bus.h"
#include "vmm/trace/TraceWriter.h"
#include "vmm/trace/Tracer.h"

namespace {

using vmm::trace::Record;
using vmm::trace::RecordKind;
using vmm::trace::Tracer;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Record exit_record(std::uint64_t entered) {
  return {.start = entered, .end = entered + 900, .a = entered + 500, .b = 0x3f8, .c = 1 | 1 << 8 | 1 << 16,
          .kind = RecordKind::KvmRun, .sub = 2 /* KVM_EXIT_IO */, .track = 0};
}

class NullDevice final : public vmm::BusDevice {
 public:
  void read(std::uint64_t, std::span<std::uint8_t>) override {}
  void write(std::uint64_t, std::span<const std::uint8_t>) override {}
};

}  // namespace

int main() {
  constexpr std::uint64_t kRecords = 5'000'000;
  Tracer tracer(16 << 20, 1);
  std::atomic<bool> done{false};
  std::uint64_t drained = 0;
  std::thread drainer([&] {
    while (!done.load(std::memory_order_relaxed)) {
      drained += tracer.vcpu_ring(0).drain([](const Record&) {});
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    drained += tracer.vcpu_ring(0).drain([](const Record&) {});
  });
  vmm::trace::TraceRing& ring = tracer.vcpu_ring(0);
  auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    // What VcpuRunner::run_once<true> adds to an exit.
    const std::uint64_t entered = Tracer::now_ns();
    const std::uint64_t exited = Tracer::now_ns();
    Record record = exit_record(entered);
    record.a = exited;
    record.end = Tracer::now_ns();
    ring.push(record);
  }
  const double record_ns = seconds_since(start) / kRecords * 1e9;
  done.store(true);
  drainer.join();

  NullDevice device;
  vmm::Bus io_bus("port I/O bus");
  io_bus.add(0x3f8, 8, device, "COM1 16550A");
  vmm::trace::TraceWriter::Layout layout;
  layout.io_bus = &io_bus;
  constexpr std::uint64_t kExits = 1'000'000;
  const std::uint64_t origin = Tracer::now_ns();
  vmm::trace::TraceWriter writer(vmm::UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC)), layout, origin);
  start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < kExits; ++i) {
    writer.host(exit_record(origin + i * 1000));
    if (i % 1000 == 999) writer.flush();  // a drain's worth, as 10 ms of exits at 100,000 per second
  }
  writer.flush();
  const double exit_ns = seconds_since(start) / kExits * 1e9;
  std::printf("{\"record_ns\": %.1f, \"records\": %llu, \"dropped\": %llu, \"json_ns_per_exit\": %.1f, "
              "\"json_ns_per_event\": %.1f}\n",
              record_ns, static_cast<unsigned long long>(drained),
              static_cast<unsigned long long>(ring.dropped()), exit_ns, exit_ns / 2);
  return 0;
}
