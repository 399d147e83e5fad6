/* kernel/prio.h - the O(1) scheduler's priority arrays and priority
 * arithmetic, as Linux 2.6.11's kernel/sched.c has them (the rules the
 * course notes teach; each function names the 2.6.11 code it follows).
 *
 * Plain C with no kernel dependencies: kernel/sched.c uses it in the guest,
 * and tests/unit/PrioTest.cpp compiles the same file into the host's unit
 * tests, table-driven against 2.6.11's numbers.
 *
 * Priorities: 0-99 real-time (lower is higher: prio = 99 - rt_priority),
 * 100-139 normal (static priority 120 + nice). Times are nanoseconds of the
 * kernel's clock; time slices are ticks at the kernel's `hz`. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAX_RT_PRIO 100
#define MAX_PRIO 140
#define MAX_USER_PRIO (MAX_PRIO - MAX_RT_PRIO) /* 40 */
#define NICE_TO_PRIO(nice) (MAX_RT_PRIO + (nice) + 20)
#define PRIO_TO_NICE(prio) ((prio) - MAX_RT_PRIO - 20)
#define DEFAULT_PRIO NICE_TO_PRIO(0)

/* Linux's policies (include/linux/sched.h). */
#define SCHED_NORMAL 0
#define SCHED_FIFO 1
#define SCHED_RR 2

/* 2.6.11's tunables, at HZ = 1000 (so their jiffies are milliseconds). */
#define MIN_TIMESLICE_MS 5
#define DEF_TIMESLICE_MS 100
#define PRIO_BONUS_RATIO 25
#define MAX_BONUS (MAX_USER_PRIO * PRIO_BONUS_RATIO / 100) /* 10 */
#define INTERACTIVE_DELTA 2
#define CHILD_PENALTY 95
#define PARENT_PENALTY 100
#define NS_PER_MS 1000000ULL
#define MAX_SLEEP_AVG_NS (DEF_TIMESLICE_MS * MAX_BONUS * NS_PER_MS) /* 1 s */
#define STARVATION_LIMIT_MS (DEF_TIMESLICE_MS * MAX_BONUS)         /* 1 s */

/* ---- the priority arrays --------------------------------------------------- */

/* Intrusive doubly linked list, embedded in whatever is queued. */
struct prio_link {
    struct prio_link *next, *prev;
};

#define PRIO_BITMAP_WORDS ((MAX_PRIO + 63) / 64)

/* One of a run queue's two arrays (2.6.11's prio_array_t): a list per
 * priority and a bit per non-empty list. */
struct prio_array {
    unsigned nr_active;
    uint64_t bitmap[PRIO_BITMAP_WORDS];
    struct prio_link queue[MAX_PRIO];
};

void prio_array_init(struct prio_array *a);
/* enqueue_task(): at the tail of its priority's list. */
void prio_enqueue(struct prio_array *a, struct prio_link *l, int prio);
/* enqueue_task_head(). */
void prio_enqueue_head(struct prio_array *a, struct prio_link *l, int prio);
/* dequeue_task(); `prio` must be the one it was queued with. */
void prio_dequeue(struct prio_array *a, struct prio_link *l, int prio);
/* requeue_task(): to the tail of the same list. */
void prio_requeue(struct prio_array *a, struct prio_link *l, int prio);
/* sched_find_first_bit(): the best non-empty priority, or MAX_PRIO. One bsf
 * per bitmap word, whatever the number of tasks. */
int prio_first(const struct prio_array *a);
/* find_next_bit(): the first non-empty priority at or after `from`. */
int prio_next(const struct prio_array *a, int from);
/* The first queued at `prio` (its list is not empty). */
struct prio_link *prio_head(struct prio_array *a, int prio);
/* The last queued at `prio`: load balancing takes from the tail. */
struct prio_link *prio_tail(struct prio_array *a, int prio);

/* ---- the arithmetic ---------------------------------------------------------- */

/* task_timeslice(): nice -20: 800 ms, 0: 100 ms, 19: 5 ms. */
unsigned prio_timeslice_ms(int static_prio);
/* The same in ticks at `hz` (at least one). */
unsigned prio_timeslice_ticks(int static_prio, unsigned hz);
/* CURRENT_BONUS(): 0..MAX_BONUS from the sleep average. */
int prio_current_bonus(uint64_t sleep_avg_ns);
/* effective_prio() of a normal task: static - (bonus - 5), within 100..139. */
int prio_effective(int static_prio, uint64_t sleep_avg_ns);
/* DELTA() and TASK_INTERACTIVE(): prio <= static_prio - DELTA. For nice 0
 * that is prio <= 118, the course's "3 * static / 4 + 28". */
int prio_delta(int static_prio);
bool prio_interactive(int prio, int static_prio);
/* INTERACTIVE_SLEEP(): a sleep longer than this makes a user task "just
 * interactive" rather than adding it all. */
uint64_t prio_interactive_sleep_ns(int static_prio);
/* recalc_task_prio()'s sleep_avg after sleeping `slept_ns` (capped at
 * MAX_SLEEP_AVG). `user`: the task has an address space of its own. */
uint64_t prio_sleep_avg_after_sleep(uint64_t sleep_avg_ns, uint64_t slept_ns, int static_prio, bool user);
/* schedule()'s sleep_avg after running `ran_ns`: the run time divided by
 * the current bonus (at least 1) is taken off, down to 0. */
uint64_t prio_sleep_avg_after_run(uint64_t sleep_avg_ns, uint64_t ran_ns);
/* wake_up_new_task()'s penalties: sleep_avg scaled to `percent` of its
 * bonus (CHILD_PENALTY for the child, PARENT_PENALTY for the parent). */
uint64_t prio_sleep_avg_penalty(uint64_t sleep_avg_ns, unsigned percent);
/* EXPIRED_STARVING(): the expired array has waited too long (STARVATION_LIMIT
 * per runnable task since the first task expired), or a better static
 * priority waits there than the current task's. */
bool prio_expired_starving(uint64_t now_ms, uint64_t expired_timestamp_ms, unsigned nr_running,
                           int curr_static_prio, int best_expired_prio);
/* A real-time priority 1..99 as a prio 98..0. */
int prio_of_rt(int rt_priority);

#ifdef __cplusplus
}
#endif
