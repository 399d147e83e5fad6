#include "vmm/trace/GuestTraceReader.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vmm::trace {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kArea = 0x161e80;  // where the bundled kernel's area lands, roughly

template <typename T>
void put(GuestMemory& memory, std::uint64_t address, T value) {
  memory.write(address, std::span(reinterpret_cast<const std::uint8_t*>(&value), sizeof value));
}

template <typename T>
T get(const GuestMemory& memory, std::uint64_t address) {
  T value;
  memory.read(address, std::span(reinterpret_cast<std::uint8_t*>(&value), sizeof value));
  return value;
}

std::uint64_t ring_at(std::uint64_t area, unsigned cpu) {
  return area + offsetof(trace_area, rings) + cpu * sizeof(trace_ring);
}

// What the guest's trace_init writes, with every field overridable.
void put_header(GuestMemory& memory, std::uint64_t area, std::uint32_t ncpus, std::uint32_t magic = TRACE_AREA_MAGIC,
                std::uint32_t version = TRACE_ABI_VERSION, std::uint32_t entries = TRACE_RING_ENTRIES) {
  put(memory, area + offsetof(trace_area, magic), magic);
  put(memory, area + offsetof(trace_area, version), version);
  put(memory, area + offsetof(trace_area, ncpus), ncpus);
  put(memory, area + offsetof(trace_area, entries), entries);
}

// What the guest's trace_record does: the event at head % entries, then head + 1.
void guest_append(GuestMemory& memory, std::uint64_t area, unsigned cpu, std::uint16_t type, std::uint32_t arg0) {
  const std::uint64_t ring = ring_at(area, cpu);
  const auto head = get<std::uint64_t>(memory, ring + offsetof(trace_ring, head));
  trace_event event{};
  event.tsc = 1000 + head;
  event.type = type;
  event.cpu = static_cast<std::uint16_t>(cpu);
  event.arg0 = arg0;
  event.arg1 = head;
  event.arg2 = 0;
  put(memory, ring + offsetof(trace_ring, events) + (head % TRACE_RING_ENTRIES) * sizeof(trace_event), event);
  put(memory, ring + offsetof(trace_ring, head), head + 1);
}

using Seen = std::vector<std::pair<unsigned, trace_event>>;

Seen drain(GuestTraceReader& reader) {
  Seen seen;
  reader.drain([&](unsigned cpu, const trace_event& e) { seen.emplace_back(cpu, e); });
  return seen;
}

TEST(GuestTraceReader, DrainsEachRingInOrderAndWritesTail) {
  GuestMemory memory(4 * kMiB);
  put_header(memory, kArea, 2);
  guest_append(memory, kArea, 1, TRACE_IRQ_ENTRY, 0x20);
  guest_append(memory, kArea, 0, TRACE_SWITCH, TRACE_SWITCH_SLICE);
  guest_append(memory, kArea, 1, TRACE_IRQ_EXIT, 0x20);

  GuestTraceReader reader(memory, kArea);
  EXPECT_EQ(reader.ncpus(), 2u);
  const Seen seen = drain(reader);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].first, 0u);
  EXPECT_EQ(seen[0].second.type, TRACE_SWITCH);
  EXPECT_EQ(seen[1].first, 1u);
  EXPECT_EQ(seen[1].second.type, TRACE_IRQ_ENTRY);
  EXPECT_EQ(seen[1].second.arg0, 0x20u);
  EXPECT_EQ(seen[2].second.type, TRACE_IRQ_EXIT);
  EXPECT_EQ(seen[2].second.tsc, 1001u);
  EXPECT_EQ(get<std::uint64_t>(memory, ring_at(kArea, 0) + offsetof(trace_ring, tail)), 1u);
  EXPECT_EQ(get<std::uint64_t>(memory, ring_at(kArea, 1) + offsetof(trace_ring, tail)), 2u);
  EXPECT_EQ(reader.events_read(), 3u);
  EXPECT_EQ(reader.ring(1).events_read, 2u);

  EXPECT_TRUE(drain(reader).empty());  // nothing new
  guest_append(memory, kArea, 0, TRACE_SYSCALL, 1);
  const Seen more = drain(reader);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].second.type, TRACE_SYSCALL);
  EXPECT_EQ(reader.ring_errors(), 0u);
}

TEST(GuestTraceReader, FollowsTheRingAcrossTheWrap) {
  GuestMemory memory(4 * kMiB);
  put_header(memory, kArea, 1);
  GuestTraceReader reader(memory, kArea);
  std::uint64_t next = 0;
  for (unsigned round = 0; round < 5; ++round) {
    for (unsigned i = 0; i < TRACE_RING_ENTRIES - 3; ++i) guest_append(memory, kArea, 0, TRACE_WAKE, 0);
    for (const auto& [cpu, event] : drain(reader)) {
      EXPECT_EQ(event.arg1, next) << "round " << round;  // arg1 carries the sequence number
      ++next;
    }
  }
  EXPECT_EQ(next, 5u * (TRACE_RING_ENTRIES - 3));
  EXPECT_EQ(reader.ring_errors(), 0u);
}

TEST(GuestTraceReader, AFullRingIsReadWholeAndTheGuestsDropsAreReported) {
  GuestMemory memory(4 * kMiB);
  put_header(memory, kArea, 1);
  for (unsigned i = 0; i < TRACE_RING_ENTRIES; ++i) guest_append(memory, kArea, 0, TRACE_WAKE, 0);
  put<std::uint64_t>(memory, ring_at(kArea, 0) + offsetof(trace_ring, dropped), 7);
  GuestTraceReader reader(memory, kArea);
  EXPECT_EQ(drain(reader).size(), TRACE_RING_ENTRIES);
  EXPECT_EQ(reader.dropped(), 7u);
  EXPECT_EQ(reader.ring(0).dropped, 7u);
  EXPECT_EQ(reader.ring_errors(), 0u);
}

TEST(GuestTraceReader, ACorruptHeadIsCountedAndSkippedWithoutReading) {
  struct Row {
    const char* what;
    std::uint64_t head;
  };
  for (const Row row : {Row{"head beyond tail + entries", 5 + TRACE_RING_ENTRIES + 1}, Row{"head below tail", 2},
                        Row{"head near 2^64", ~std::uint64_t{0}}}) {
    GuestMemory memory(4 * kMiB);
    put_header(memory, kArea, 1);
    for (int i = 0; i < 5; ++i) guest_append(memory, kArea, 0, TRACE_WAKE, 0);
    GuestTraceReader reader(memory, kArea);
    ASSERT_EQ(drain(reader).size(), 5u);  // tail = 5
    put(memory, ring_at(kArea, 0) + offsetof(trace_ring, head), row.head);
    EXPECT_TRUE(drain(reader).empty()) << row.what;
    EXPECT_EQ(reader.ring_errors(), 1u) << row.what;
    // Resynchronised: tail = head, and the ring works again from there.
    EXPECT_EQ(get<std::uint64_t>(memory, ring_at(kArea, 0) + offsetof(trace_ring, tail)), row.head) << row.what;
    if (row.head != ~std::uint64_t{0}) {
      guest_append(memory, kArea, 0, TRACE_SYSCALL, 3);
      EXPECT_EQ(drain(reader).size(), 1u) << row.what;
      EXPECT_EQ(reader.ring_errors(), 1u) << row.what;
    }
  }
}

TEST(GuestTraceReader, IgnoresATailTheGuestScribbledOn) {
  GuestMemory memory(4 * kMiB);
  put_header(memory, kArea, 1);
  GuestTraceReader reader(memory, kArea);
  guest_append(memory, kArea, 0, TRACE_WAKE, 0);
  guest_append(memory, kArea, 0, TRACE_WAKE, 0);
  put<std::uint64_t>(memory, ring_at(kArea, 0) + offsetof(trace_ring, tail), 2);  // vmm alone writes tail
  EXPECT_EQ(drain(reader).size(), 2u);
}

TEST(GuestTraceReader, ReadsTheSyncTsc) {
  GuestMemory memory(4 * kMiB);
  put_header(memory, kArea, 1);
  put<std::uint64_t>(memory, kArea + offsetof(trace_area, sync_tsc), 123456789);
  GuestTraceReader reader(memory, kArea);
  EXPECT_EQ(reader.sync_tsc(), 123456789u);
}

TEST(GuestTraceReader, ANcpusChangedAfterRegistrationChangesNothing) {
  GuestMemory memory(4 * kMiB);
  put_header(memory, kArea, 1);
  GuestTraceReader reader(memory, kArea);
  put<std::uint32_t>(memory, kArea + offsetof(trace_area, ncpus), 16);
  guest_append(memory, kArea, 5, TRACE_WAKE, 0);
  EXPECT_TRUE(drain(reader).empty());
  EXPECT_EQ(reader.ncpus(), 1u);
}

std::string rejection(const GuestMemory& memory, std::uint64_t address) {
  try {
    GuestTraceReader reader(memory, address);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

TEST(GuestTraceReader, RefusesABadHeaderWithAMessage) {
  struct Row {
    const char* what;
    std::uint32_t ncpus, magic, version, entries;
    const char* message;
  };
  const Row rows[] = {
      {"ncpus 0", 0, TRACE_AREA_MAGIC, TRACE_ABI_VERSION, TRACE_RING_ENTRIES, "ncpus 0 outside 1..16"},
      {"ncpus 17", 17, TRACE_AREA_MAGIC, TRACE_ABI_VERSION, TRACE_RING_ENTRIES, "ncpus 17 outside 1..16"},
      {"bad magic", 1, 0x12345678, TRACE_ABI_VERSION, TRACE_RING_ENTRIES, "bad magic 0x12345678"},
      {"version 2", 1, TRACE_AREA_MAGIC, 2, TRACE_RING_ENTRIES, "ABI version 2, expected 1"},
      {"entries 512", 1, TRACE_AREA_MAGIC, TRACE_ABI_VERSION, 512, "entries 512, expected 256"},
  };
  for (const auto& row : rows) {
    GuestMemory memory(4 * kMiB);
    put_header(memory, kArea, row.ncpus, row.magic, row.version, row.entries);
    const std::string message = rejection(memory, kArea);
    EXPECT_NE(message.find(row.message), std::string::npos) << row.what << ": " << message;
    EXPECT_NE(message.find("0x161e80"), std::string::npos) << row.what << ": " << message;
  }
}

TEST(GuestTraceReader, RefusesAnAreaNotWhollyInRam) {
  GuestMemory memory(4 * kMiB);
  const std::uint64_t straddling = 4 * kMiB - sizeof(trace_area) + 64;  // header in RAM, last rings past its end
  put_header(memory, straddling, 1);
  EXPECT_NE(rejection(memory, straddling).find("not all in guest RAM"), std::string::npos);
  EXPECT_NE(rejection(memory, 64 * kMiB).find("not all in guest RAM"), std::string::npos);
  EXPECT_NE(rejection(memory, ~std::uint64_t{0} - 7).find("not all in guest RAM"), std::string::npos);
  const std::uint64_t fits = 4 * kMiB - sizeof(trace_area);
  put_header(memory, fits, 1);
  EXPECT_EQ(rejection(memory, fits), "accepted");
}

TEST(GuestTraceReader, RefusesAMisalignedArea) {
  GuestMemory memory(4 * kMiB);
  put_header(memory, kArea + 4, 1);
  EXPECT_NE(rejection(memory, kArea + 4).find("not 8-byte aligned"), std::string::npos);
}

}  // namespace
}  // namespace vmm::trace
