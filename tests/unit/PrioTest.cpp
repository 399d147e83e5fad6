// The bundled kernel's O(1) scheduler arithmetic and priority arrays
// (guest-kernel/kernel/prio.c, the same C file the guest runs), against
// Linux 2.6.11's kernel/sched.c at HZ = 1000: its task_timeslice(),
// CURRENT_BONUS(), effective_prio(), TASK_INTERACTIVE(), recalc_task_prio(),
// EXPIRED_STARVING() and sched_find_first_bit(), row by row.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "guest-kernel/kernel/prio.h"

namespace {

constexpr std::uint64_t kMs = 1000000;  // ns

TEST(PrioTest, TimeSlicePerNiceValueIsLinux26s) {
  const struct {
    int nice;
    unsigned ms;
  } rows[] = {
      {-20, 800}, {-10, 600}, {-1, 420}, {0, 100}, {1, 95}, {10, 50}, {15, 25}, {18, 10}, {19, 5},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(prio_timeslice_ms(NICE_TO_PRIO(row.nice)), row.ms) << "nice " << row.nice;
    EXPECT_EQ(prio_timeslice_ticks(NICE_TO_PRIO(row.nice), 1000), row.ms) << "nice " << row.nice << " at HZ 1000";
  }
  // Scaled to hz=, never below one tick.
  EXPECT_EQ(prio_timeslice_ticks(NICE_TO_PRIO(0), 100), 10u);
  EXPECT_EQ(prio_timeslice_ticks(NICE_TO_PRIO(19), 100), 1u);
  EXPECT_EQ(prio_timeslice_ticks(NICE_TO_PRIO(-20), 250), 200u);
}

TEST(PrioTest, BonusAndDynamicPriorityFollowTheSleepAverage) {
  const struct {
    std::uint64_t sleep_avg_ms;
    int bonus;
    int prio_nice0;
    int prio_nice19;
    int prio_nice_minus20;
  } rows[] = {
      {0, 0, 125, 139, 105},     // a pure CPU hog: 5 worse than static
      {99, 0, 125, 139, 105},
      {100, 1, 124, 139, 104},
      {500, 5, 120, 139, 100},   // half the maximum: no bonus either way
      {700, 7, 118, 137, 100},
      {999, 9, 116, 135, 100},
      {1000, 10, 115, 134, 100},  // MAX_SLEEP_AVG: the full -5
      {5000, 10, 115, 134, 100},  // capped
  };
  for (const auto& row : rows) {
    const std::uint64_t avg = row.sleep_avg_ms * kMs;
    EXPECT_EQ(prio_current_bonus(avg), row.bonus) << row.sleep_avg_ms << " ms";
    EXPECT_EQ(prio_effective(NICE_TO_PRIO(0), avg), row.prio_nice0) << row.sleep_avg_ms << " ms";
    EXPECT_EQ(prio_effective(NICE_TO_PRIO(19), avg), row.prio_nice19) << row.sleep_avg_ms << " ms";
    EXPECT_EQ(prio_effective(NICE_TO_PRIO(-20), avg), row.prio_nice_minus20) << row.sleep_avg_ms << " ms";
  }
}

TEST(PrioTest, InteractiveIsDynamicPriorityAtMostStaticLessDelta) {
  // DELTA(p) = nice * 10 / 40 + 2: nice 0 is interactive at prio <= 118 (the
  // course's 3 * 120 / 4 + 28), nice -20 at <= 103, nice 19 at <= 133.
  const struct {
    int nice;
    int delta;
    int last_interactive_prio;
  } rows[] = {{-20, -3, 103}, {-10, 0, 110}, {0, 2, 118}, {10, 4, 126}, {19, 6, 133}};
  for (const auto& row : rows) {
    const int static_prio = NICE_TO_PRIO(row.nice);
    EXPECT_EQ(prio_delta(static_prio), row.delta) << "nice " << row.nice;
    EXPECT_TRUE(prio_interactive(row.last_interactive_prio, static_prio)) << "nice " << row.nice;
    EXPECT_FALSE(prio_interactive(row.last_interactive_prio + 1, static_prio)) << "nice " << row.nice;
  }
  // A nice 0 task needs a bonus of 7 (sleep_avg >= 700 ms) to be interactive.
  EXPECT_FALSE(prio_interactive(prio_effective(120, 699 * kMs), 120));
  EXPECT_TRUE(prio_interactive(prio_effective(120, 700 * kMs), 120));
}

TEST(PrioTest, SleepRaisesTheAverageFasterWhenItIsLowAndRunningLowersIt) {
  const struct {
    std::uint64_t avg_ms, slept_ms;
    bool user;
    std::uint64_t after_ms;
  } sleeps[] = {
      {0, 10, true, 100},     // bonus 0: the sleep counts 10 times
      {500, 10, true, 550},   // bonus 5: 5 times
      {950, 10, true, 960},   // bonus 9: once
      {990, 50, true, 1000},  // capped at MAX_SLEEP_AVG
      {0, 0, true, 0},
      // INTERACTIVE_SLEEP(nice 0) = 1000 * (5 + 2 + 1) / 10 - 1 = 799 ms: a user
      // task that slept longer is set to just interactive (900 ms), not more.
      {0, 800, true, 900},
      {0, 800, false, 1000},  // a kernel task adds it all (0 + 800 * 10, capped)
  };
  for (const auto& row : sleeps)
    EXPECT_EQ(prio_sleep_avg_after_sleep(row.avg_ms * kMs, row.slept_ms * kMs, 120, row.user), row.after_ms * kMs)
        << row.avg_ms << " ms + a sleep of " << row.slept_ms << " ms";
  EXPECT_EQ(prio_interactive_sleep_ns(120), 799 * kMs);

  const struct {
    std::uint64_t avg_ms, ran_ms, after_ms;
  } runs[] = {
      {1000, 100, 990},  // bonus 10: a tenth of the run time
      {500, 100, 480},   // bonus 5
      {50, 100, 0},      // bonus 0 (divides by 1), floored at 0
      {0, 10, 0},
  };
  for (const auto& row : runs)
    EXPECT_EQ(prio_sleep_avg_after_run(row.avg_ms * kMs, row.ran_ms * kMs), row.after_ms * kMs)
        << row.avg_ms << " ms after a run of " << row.ran_ms << " ms";

  // wake_up_new_task(): the child keeps 95 % of its bonus, the parent all.
  EXPECT_EQ(prio_sleep_avg_penalty(1000 * kMs, CHILD_PENALTY), 900 * kMs);
  EXPECT_EQ(prio_sleep_avg_penalty(1000 * kMs, PARENT_PENALTY), 1000 * kMs);
}

TEST(PrioTest, ExpiredTasksStarveAfterTheLimitPerRunnableTaskOrForABetterStaticPriority) {
  const struct {
    std::uint64_t now, expired_at;
    unsigned nr_running;
    int curr_static, best_expired;
    bool starving;
  } rows[] = {
      {5000, 0, 2, 120, MAX_PRIO, false},     // nothing expired yet
      {3000, 1000, 2, 120, MAX_PRIO, false},  // 2000 ms < 1000 * 2 + 1
      {3001, 1000, 2, 120, MAX_PRIO, true},
      {1100, 1000, 1, 120, MAX_PRIO, false},
      {1100, 1000, 1, 139, 120, true},        // a nice 0 task waits behind nice 19
      {1100, 1000, 1, 120, 120, false},
  };
  for (const auto& row : rows)
    EXPECT_EQ(prio_expired_starving(row.now, row.expired_at, row.nr_running, row.curr_static, row.best_expired),
              row.starving)
        << "now " << row.now << " expired at " << row.expired_at;
}

struct Item {
  prio_link link;
  int id;
};

int id_of(prio_link* link) { return reinterpret_cast<Item*>(link)->id; }

TEST(PrioTest, ArraysFindTheBestPriorityAndKeepFifoOrderWithinOne) {
  prio_array array;
  prio_array_init(&array);
  EXPECT_EQ(prio_first(&array), MAX_PRIO);
  std::vector<Item> items(6);  // queued at prios[i]
  const int prios[] = {139, 120, 0, 120, 63, 64};
  for (int i = 0; i < 6; ++i) {
    items[i].id = i;
    prio_enqueue(&array, &items[i].link, prios[i]);
  }
  EXPECT_EQ(array.nr_active, 6u);
  EXPECT_EQ(prio_first(&array), 0);
  EXPECT_EQ(prio_next(&array, 1), 63);  // across the 64-bit words of the bitmap
  EXPECT_EQ(prio_next(&array, 64), 64);
  EXPECT_EQ(prio_next(&array, 65), 120);
  EXPECT_EQ(id_of(prio_head(&array, 120)), 1);
  EXPECT_EQ(id_of(prio_tail(&array, 120)), 3);
  prio_requeue(&array, &items[1].link, 120);  // round robin within a priority
  EXPECT_EQ(id_of(prio_head(&array, 120)), 3);
  Item woken{{}, 6}, second{{}, 7};
  prio_enqueue(&array, &second.link, 0);  // a second task at 0...
  prio_dequeue(&array, &second.link, 0);  // ...and out again: the bit stays for the first
  EXPECT_EQ(prio_first(&array), 0);
  prio_enqueue_head(&array, &woken.link, 120);  // enqueue_task_head(): before the others
  EXPECT_EQ(id_of(prio_head(&array, 120)), 6);
  prio_dequeue(&array, &woken.link, 120);
  EXPECT_EQ(array.nr_active, 6u);
  prio_dequeue(&array, &items[2].link, 0);
  EXPECT_EQ(prio_first(&array), 63);
  prio_dequeue(&array, &items[4].link, 63);
  prio_dequeue(&array, &items[5].link, 64);
  EXPECT_EQ(prio_first(&array), 120);
  prio_dequeue(&array, &items[1].link, 120);
  prio_dequeue(&array, &items[3].link, 120);
  EXPECT_EQ(prio_first(&array), 139);
  prio_dequeue(&array, &items[0].link, 139);
  EXPECT_EQ(prio_first(&array), MAX_PRIO);
  EXPECT_EQ(array.nr_active, 0u);
}

TEST(PrioTest, RealTimePrioritiesAreAboveEveryNormalOne) {
  EXPECT_EQ(prio_of_rt(1), 98);
  EXPECT_EQ(prio_of_rt(50), 49);
  EXPECT_EQ(prio_of_rt(99), 0);
  EXPECT_LT(prio_of_rt(1), prio_effective(NICE_TO_PRIO(-20), MAX_SLEEP_AVG_NS));
}

}  // namespace
