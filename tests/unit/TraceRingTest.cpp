// The per-thread trace ring: bounded, in order, drops counted when full, and
// one producer and one consumer on two threads lose nothing that fits.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "vmm/trace/TraceRing.h"
#include "vmm/trace/Tracer.h"

namespace vmm::trace {
namespace {

Record numbered(std::uint64_t n) { return {.start = n, .a = n}; }

TEST(TraceRing, CapacityIsThePowerOfTwoThatFitsAndAtLeast64) {
  struct Case {
    std::size_t bytes;
    std::size_t records;
  };
  for (const Case& c : {Case{0, 64}, Case{48 * 64, 64}, Case{48 * 100, 64}, Case{48 * 128, 128}, Case{48 * 200, 128},
                        Case{1 << 20, 16384}}) {
    SCOPED_TRACE(c.bytes);
    EXPECT_EQ(TraceRing(c.bytes).capacity(), c.records);
  }
}

TEST(TraceRing, DrainsInOrderAndWrapsAround) {
  TraceRing ring(0);
  std::uint64_t next = 0, expected = 0;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 50; ++i) ring.push(numbered(next++));
    ring.drain([&](const Record& record) { EXPECT_EQ(record.a, expected++); });
  }
  EXPECT_EQ(expected, 500u);
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(TraceRing, AFullRingDropsTheNewestAndCountsThem) {
  TraceRing ring(0);
  for (std::uint64_t i = 0; i < 100; ++i) ring.push(numbered(i));
  EXPECT_EQ(ring.dropped(), 36u);
  std::vector<std::uint64_t> seen;
  EXPECT_EQ(ring.drain([&](const Record& record) { seen.push_back(record.a); }), 64u);
  ASSERT_EQ(seen.size(), 64u);
  EXPECT_EQ(seen.front(), 0u);
  EXPECT_EQ(seen.back(), 63u);
  ring.push(numbered(1000));  // room again once drained
  EXPECT_EQ(ring.drain([](const Record& record) { EXPECT_EQ(record.a, 1000u); }), 1u);
}

TEST(TraceRing, OneProducerAndOneConsumerThreadAgreeOnEveryRecord) {
  TraceRing ring(48 * 1024);
  constexpr std::uint64_t kRecords = 2'000'000;
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kRecords; ++i) ring.push(numbered(i));
    done.store(true);
  });
  std::uint64_t received = 0, last = 0;
  bool ordered = true;
  auto consume = [&](const Record& record) {
    if (received && record.a <= last) ordered = false;
    last = record.a;
    ++received;
  };
  while (!done.load()) ring.drain(consume);
  ring.drain(consume);
  producer.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(received + ring.dropped(), kRecords);
}

TEST(Tracer, SharesTheBufferOutAndDrainsEveryThreadsRing) {
  Tracer tracer(1 << 20, 2);
  EXPECT_LE((tracer.vcpu_ring(0).capacity() + tracer.vcpu_ring(1).capacity() + tracer.event_loop_ring().capacity()) *
                sizeof(Record),
            std::size_t{1} << 20);
  std::thread vcpu([&] {
    Tracer::bind_current_thread(&tracer.vcpu_ring(1));
    Tracer::record(numbered(1));
  });
  vcpu.join();
  std::thread unbound([] { Tracer::record(numbered(2)); });  // a thread without a ring of its own
  unbound.join();
  Tracer::bind_current_thread(&tracer.event_loop_ring());
  Tracer::record(numbered(3));
  Tracer::bind_current_thread(nullptr);
  std::vector<std::uint64_t> seen;
  EXPECT_EQ(tracer.drain([&](const Record& record) { seen.push_back(record.a); }), 3u);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 3, 2}));
  EXPECT_EQ(tracer.dropped(), 0u);
}

}  // namespace
}  // namespace vmm::trace
