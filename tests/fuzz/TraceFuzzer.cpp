// libFuzzer target for what a trace takes from outside: the guest's trace
// area (an untrusted guest writes every byte of it, while vmm reads) and the
// files `vmm trace summary` is given. Whatever the guest wrote, the reader
// stays inside the area and the writer's file is valid JSON whose spans nest;
// whatever the file holds, the summary returns or throws std::invalid_argument.

#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "FuzzCheck.h"
#include "vmm/GuestMemory.h"
#include "vmm/trace/GuestTraceReader.h"
#include "vmm/trace/TraceSummary.h"
#include "vmm/trace/TraceWriter.h"

namespace {

constexpr std::uint64_t kMemory = 1 << 20;
constexpr std::uint64_t kOrigin = 1'000'000;

void fuzz_guest_area(FuzzedDataProvider& input) {
  vmm::GuestMemory memory(kMemory);
  const std::uint64_t address = input.ConsumeBool() ? 0x1000 : input.ConsumeIntegralInRange<std::uint64_t>(0, kMemory);
  // A header that validates most of the time, with rings the fuzzer fills.
  trace_area header{};
  header.magic = input.ConsumeProbability<float>() < 0.9f ? TRACE_AREA_MAGIC : input.ConsumeIntegral<std::uint32_t>();
  header.version = TRACE_ABI_VERSION;
  header.ncpus = input.ConsumeIntegralInRange<std::uint32_t>(0, TRACE_MAX_CPUS + 1);
  header.entries = TRACE_RING_ENTRIES;
  std::unique_ptr<vmm::trace::GuestTraceReader> reader;
  if (auto area = memory.host_span(address, sizeof header); !area.empty()) std::memcpy(area.data(), &header, sizeof header);
  try {
    reader = std::make_unique<vmm::trace::GuestTraceReader>(memory, address);
  } catch (const std::invalid_argument&) {
    return;
  }
  const int fd = ::memfd_create("trace", 0);
  FUZZ_CHECK(fd >= 0);
  vmm::trace::TraceWriter::Layout layout;
  layout.lines = {{"nic", 5}, {"disk", 17}};
  vmm::trace::TraceWriter writer(vmm::UniqueFd(fd), layout, kOrigin);
  auto area = memory.host_span(address, sizeof(trace_area));
  for (int round = 0; round < 4 && input.remaining_bytes() > 0; ++round) {
    // The guest scribbles over its rings (heads, tails, events) ...
    const auto bytes = input.ConsumeBytes<std::uint8_t>(input.ConsumeIntegralInRange<std::size_t>(0, 4096));
    for (std::size_t i = 0; i + 2 < bytes.size(); i += 3) {
      const std::size_t at = offsetof(trace_area, rings) + (static_cast<std::size_t>(bytes[i]) << 8 | bytes[i + 1]) * 3;
      if (at < area.size()) area[at] = bytes[i + 2];
    }
    // ... and the host acknowledges lines now and then.
    if (input.ConsumeBool())
      writer.host({.start = kOrigin + 100, .a = input.ConsumeIntegral<std::uint8_t>(), .b = input.ConsumeBool(),
                   .kind = vmm::trace::RecordKind::Acknowledge, .track = input.ConsumeIntegralInRange<std::uint32_t>(0, 3)});
    std::uint64_t ns = kOrigin + 1000 * round;
    reader->drain([&](unsigned cpu, const trace_event& event) {
      FUZZ_CHECK(cpu < reader->ncpus());
      writer.guest(cpu, event, ns += 10);
    });
    writer.flush();
  }
  writer.finish(kOrigin + 10'000'000, nlohmann::json::object());
  std::string text(static_cast<std::size_t>(::lseek(fd, 0, SEEK_END)), '\0');
  FUZZ_CHECK(::pread(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
  const auto json = nlohmann::json::parse(text, nullptr, false);
  FUZZ_CHECK(json.is_object() && json["traceEvents"].is_array());
  std::map<std::pair<int, int>, int> depth;
  for (const auto& event : json["traceEvents"]) {
    int& open = depth[{event["pid"].get<int>(), event["tid"].get<int>()}];
    if (event["ph"] == "B") ++open;
    if (event["ph"] == "E") FUZZ_CHECK(--open >= 0);
  }
  for (const auto& [track, open] : depth) FUZZ_CHECK(open == 0);
  // The summary reads what the writer wrote.
  (void)vmm::trace::summarize(json);
}

void fuzz_summary(FuzzedDataProvider& input) {
  const std::string text = input.ConsumeRemainingBytesAsString();
  try {
    const auto summary = vmm::trace::summarize_text(text);
    (void)vmm::trace::format_summary(summary);
    (void)vmm::trace::summary_json(summary).dump();
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  if (input.ConsumeBool())
    fuzz_guest_area(input);
  else
    fuzz_summary(input);
  return 0;
}
