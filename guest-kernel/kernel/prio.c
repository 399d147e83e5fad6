/* prio.c - the O(1) scheduler's arrays and arithmetic (see prio.h), after
 * Linux 2.6.11's kernel/sched.c. */
#include "kernel/prio.h"

/* ---- the priority arrays --------------------------------------------------- */

void prio_array_init(struct prio_array *a)
{
    a->nr_active = 0;
    for (int w = 0; w < PRIO_BITMAP_WORDS; w++)
        a->bitmap[w] = 0;
    for (int p = 0; p < MAX_PRIO; p++)
        a->queue[p].next = a->queue[p].prev = &a->queue[p];
}

static void set_bit(struct prio_array *a, int prio)
{
    a->bitmap[prio / 64] |= 1ULL << (prio % 64);
}

static void clear_bit_if_empty(struct prio_array *a, int prio)
{
    if (a->queue[prio].next == &a->queue[prio])
        a->bitmap[prio / 64] &= ~(1ULL << (prio % 64));
}

static void link_between(struct prio_link *l, struct prio_link *prev, struct prio_link *next)
{
    l->prev = prev;
    l->next = next;
    prev->next = l;
    next->prev = l;
}

void prio_enqueue(struct prio_array *a, struct prio_link *l, int prio)
{
    link_between(l, a->queue[prio].prev, &a->queue[prio]);
    set_bit(a, prio);
    a->nr_active++;
}

void prio_enqueue_head(struct prio_array *a, struct prio_link *l, int prio)
{
    link_between(l, &a->queue[prio], a->queue[prio].next);
    set_bit(a, prio);
    a->nr_active++;
}

void prio_dequeue(struct prio_array *a, struct prio_link *l, int prio)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->next = l->prev = l;
    clear_bit_if_empty(a, prio);
    a->nr_active--;
}

void prio_requeue(struct prio_array *a, struct prio_link *l, int prio)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    link_between(l, a->queue[prio].prev, &a->queue[prio]);
}

/* bsf: the index of the lowest set bit of a non-zero word; one instruction,
 * also in the emulator that runs the guest's ring 0 here. (Not
 * __builtin_ctzll: gcc may emit tzcnt, "rep bsf", for it.) */
static int lowest_bit(uint64_t word)
{
    uint64_t index;
    __asm__("bsfq %1, %0" : "=r"(index) : "rm"(word) : "cc");
    return (int)index;
}

int prio_next(const struct prio_array *a, int from)
{
    if (from < 0)
        from = 0;
    for (int w = from / 64; w < PRIO_BITMAP_WORDS; w++) {
        uint64_t word = a->bitmap[w];
        if (w == from / 64)
            word &= ~0ULL << (from % 64);
        if (word)
            return w * 64 + lowest_bit(word);
    }
    return MAX_PRIO;
}

int prio_first(const struct prio_array *a)
{
    return prio_next(a, 0);
}

struct prio_link *prio_head(struct prio_array *a, int prio)
{
    return a->queue[prio].next;
}

struct prio_link *prio_tail(struct prio_array *a, int prio)
{
    return a->queue[prio].prev;
}

/* ---- the arithmetic ---------------------------------------------------------- */

/* SCALE_PRIO(x, prio): max(x * (MAX_PRIO - prio) / (MAX_USER_PRIO / 2), MIN_TIMESLICE). */
static unsigned scale_prio(unsigned x_ms, int prio)
{
    unsigned ms = x_ms * (unsigned)(MAX_PRIO - prio) / (MAX_USER_PRIO / 2);
    return ms > MIN_TIMESLICE_MS ? ms : MIN_TIMESLICE_MS;
}

unsigned prio_timeslice_ms(int static_prio)
{
    if (static_prio < NICE_TO_PRIO(0))
        return scale_prio(DEF_TIMESLICE_MS * 4, static_prio);
    return scale_prio(DEF_TIMESLICE_MS, static_prio);
}

unsigned prio_timeslice_ticks(int static_prio, unsigned hz)
{
    unsigned ticks = (unsigned)((uint64_t)prio_timeslice_ms(static_prio) * hz / 1000);
    return ticks ? ticks : 1;
}

int prio_current_bonus(uint64_t sleep_avg_ns)
{
    if (sleep_avg_ns > MAX_SLEEP_AVG_NS)
        sleep_avg_ns = MAX_SLEEP_AVG_NS;
    /* NS_TO_JIFFIES(sleep_avg) * MAX_BONUS / MAX_SLEEP_AVG, in milliseconds. */
    return (int)(sleep_avg_ns / NS_PER_MS * MAX_BONUS / (MAX_SLEEP_AVG_NS / NS_PER_MS));
}

int prio_effective(int static_prio, uint64_t sleep_avg_ns)
{
    int prio = static_prio - (prio_current_bonus(sleep_avg_ns) - MAX_BONUS / 2);
    if (prio < MAX_RT_PRIO)
        prio = MAX_RT_PRIO;
    if (prio > MAX_PRIO - 1)
        prio = MAX_PRIO - 1;
    return prio;
}

int prio_delta(int static_prio)
{
    /* SCALE(TASK_NICE(p), 40, MAX_BONUS) + INTERACTIVE_DELTA; C's division
     * truncates toward zero, as the kernel's does. */
    return PRIO_TO_NICE(static_prio) * MAX_BONUS / 40 + INTERACTIVE_DELTA;
}

bool prio_interactive(int prio, int static_prio)
{
    return prio <= static_prio - prio_delta(static_prio);
}

uint64_t prio_interactive_sleep_ns(int static_prio)
{
    /* JIFFIES_TO_NS(MAX_SLEEP_AVG * (MAX_BONUS / 2 + DELTA(p) + 1) / MAX_BONUS - 1) */
    int64_t ms = (int64_t)(MAX_SLEEP_AVG_NS / NS_PER_MS) * (MAX_BONUS / 2 + prio_delta(static_prio) + 1) / MAX_BONUS - 1;
    return ms > 0 ? (uint64_t)ms * NS_PER_MS : 0;
}

uint64_t prio_sleep_avg_after_sleep(uint64_t sleep_avg_ns, uint64_t slept_ns, int static_prio, bool user)
{
    if (slept_ns > MAX_SLEEP_AVG_NS)
        slept_ns = MAX_SLEEP_AVG_NS;
    if (slept_ns == 0)
        return sleep_avg_ns;
    /* A user task that slept a long time is "idle": it gets just enough to
     * be interactive, not so much that it could starve others at once
     * should it turn into a CPU hog. */
    if (user && slept_ns > prio_interactive_sleep_ns(static_prio))
        return (MAX_SLEEP_AVG_NS / NS_PER_MS - DEF_TIMESLICE_MS) * NS_PER_MS;
    /* The lower the sleep average, the faster it rises with sleep. */
    int factor = MAX_BONUS - prio_current_bonus(sleep_avg_ns);
    sleep_avg_ns += slept_ns * (uint64_t)(factor ? factor : 1);
    return sleep_avg_ns > MAX_SLEEP_AVG_NS ? MAX_SLEEP_AVG_NS : sleep_avg_ns;
}

uint64_t prio_sleep_avg_after_run(uint64_t sleep_avg_ns, uint64_t ran_ns)
{
    if (ran_ns > MAX_SLEEP_AVG_NS)
        ran_ns = MAX_SLEEP_AVG_NS;
    /* High sleep averages are charged less, so a task keeps its
     * interactive status a while after it starts to run. */
    int bonus = prio_current_bonus(sleep_avg_ns);
    ran_ns /= (uint64_t)(bonus ? bonus : 1);
    return sleep_avg_ns > ran_ns ? sleep_avg_ns - ran_ns : 0;
}

uint64_t prio_sleep_avg_penalty(uint64_t sleep_avg_ns, unsigned percent)
{
    /* JIFFIES_TO_NS(CURRENT_BONUS(p) * PENALTY / 100 * MAX_SLEEP_AVG / MAX_BONUS) */
    uint64_t ms = (uint64_t)prio_current_bonus(sleep_avg_ns) * percent / 100 * (MAX_SLEEP_AVG_NS / NS_PER_MS) /
                  MAX_BONUS;
    return ms * NS_PER_MS;
}

bool prio_expired_starving(uint64_t now_ms, uint64_t expired_timestamp_ms, unsigned nr_running,
                           int curr_static_prio, int best_expired_prio)
{
    if (expired_timestamp_ms && now_ms - expired_timestamp_ms >= (uint64_t)STARVATION_LIMIT_MS * nr_running + 1)
        return true;
    return curr_static_prio > best_expired_prio;
}

int prio_of_rt(int rt_priority)
{
    return MAX_RT_PRIO - 1 - rt_priority;
}
