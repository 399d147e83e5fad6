/* sched.c - per-CPU round-robin preemptive scheduling of the ring-3 tasks,
 * blocking, wake-ups and load balancing (xv6's proc.c and Linux's
 * core.c in shape, much smaller).
 *
 * Each CPU has a run queue under its own lock and an idle task (its boot
 * stack). The tick charges the running task and, when its slice is used
 * up, sets need_resched; trap() calls sched_return_to_user() on every way
 * back to ring 3, which runs schedule() if needed. A task that blocks
 * (sleep, wait for an interrupt) calls schedule() from its system call.
 * schedule() holds the run queue's lock across switch_to and the task it
 * switched to releases it (finish_switch), so no other CPU sees a task
 * whose registers are still being saved. A woken task is queued at the
 * head of its CPU's queue and preempts what runs there, by IPI if that is
 * another CPU. An idle or underloaded CPU pulls a queued task from the
 * busiest one. Kernel code is never preempted: interrupts are off in ring
 * 0 except where the idle loop or a console write waits. */
#include "kernel/sched.h"

#include "arch/cpu.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/ipi.h"
#include "kernel/irq.h"
#include "kernel/linux.h"
#include "kernel/proc.h"
#include "kernel/spinlock.h"
#include "kernel/syscall.h"
#include "kernel/tick.h"
#include "kernel/trace.h"
#include "kernel/trap.h"
#include "modes/modes.h"

/* How often a busy CPU looks for imbalance; an idle one looks every tick. */
#define BALANCE_TICKS 4

/* Where schedule() queues the task it switches away from, if runnable
 * (task->requeue): rr always at the tail; o1 at the head of its list when
 * it was preempted (it keeps its place), at the tail when its slice ran
 * out but it stays active (interactive, real-time round robin), in the
 * expired array when it ran out otherwise, or yielded. */
enum requeue { REQUEUE_HEAD, REQUEUE_TAIL, REQUEUE_EXPIRED };

struct runqueue {
    struct spinlock lock;
    struct task *head, *tail; /* rr: runnable, not running */
    unsigned nr_queued;
    /* o1 (Linux 2.6.11's runqueue): the running task is in neither array
     * while it runs; schedule() queues it again (enum requeue). */
    struct prio_array arrays[2];
    struct prio_array *active, *expired;
    uint64_t expired_timestamp_ms; /* when the first task expired since the last swap; 0: none */
    int best_expired_prio;         /* the best static priority waiting in expired */
    uint64_t array_swaps;
    uint64_t pulled_expired, pulled_active; /* balancing: from the busiest's expired, active */
    uint64_t pick_cycles, picks;  /* schedule()'s queue work, in TSC cycles */
    struct task *curr;
    struct task *idle;
    struct task *sleepers;
    volatile bool need_resched;
    volatile bool woken;  /* need_resched was set by a wake-up (for the trace's switch reason) */
    uint64_t switches;
    uint64_t migrations; /* tasks pulled in from another CPU */
    uint64_t idle_ticks;
    uint64_t steal_ticks; /* ticks that passed while a task was current but the vCPU not running */
    uint64_t since_balance;
    volatile bool parked;
};

extern struct task *switch_to(struct task *prev, struct task *next);
extern char ret_from_fork[];

union task_stack idle_stacks[MAX_CPUS];
static union task_stack task_stacks[MAX_TASKS];
static struct runqueue rqs[MAX_CPUS];
static unsigned ntasks;
static unsigned online_list[MAX_CPUS];
static unsigned nonline = 1;
static volatile unsigned nalive; /* workers still running */
static volatile bool any_failed;
static volatile uint32_t finishing;

static uint64_t kstack_top(struct task *t)
{
    return (uint64_t)t + KSTACK_SIZE;
}

static void enqueue_tail(struct runqueue *rq, struct task *t)
{
    t->next = NULL;
    if (rq->tail)
        rq->tail->next = t;
    else
        rq->head = t;
    rq->tail = t;
    rq->nr_queued++;
}

static void enqueue_head(struct runqueue *rq, struct task *t)
{
    t->next = rq->head;
    rq->head = t;
    if (!rq->tail)
        rq->tail = t;
    rq->nr_queued++;
}

static struct task *dequeue_head(struct runqueue *rq)
{
    struct task *t = rq->head;
    if (!t)
        return NULL;
    rq->head = t->next;
    if (!rq->head)
        rq->tail = NULL;
    t->next = NULL;
    rq->nr_queued--;
    return t;
}

static struct task *dequeue_tail(struct runqueue *rq)
{
    struct task *t = rq->head, *prev = NULL;
    if (!t)
        return NULL;
    while (t->next) {
        prev = t;
        t = t->next;
    }
    if (prev)
        prev->next = NULL;
    else
        rq->head = NULL;
    rq->tail = prev;
    rq->nr_queued--;
    return t;
}

static unsigned load(const struct runqueue *rq)
{
    return rq->nr_queued + (rq->curr && rq->curr->kind != TASK_IDLE);
}

/* ---- o1: Linux 2.6.11's O(1) scheduler (kernel/prio.c has the arithmetic) ---- */

static bool o1(void)
{
    return cfg.sched == SCHED_MODE_O1;
}

/* The kernel's clock for sleep_avg and the run times: the jiffies. */
static uint64_t sched_clock_ns(void)
{
    return jiffies * (1000000000ULL / cfg.hz);
}

static uint64_t jiffies_ms(void)
{
    return jiffies * 1000 / cfg.hz;
}

static struct task *task_of(struct prio_link *l)
{
    return (struct task *)((char *)l - __builtin_offsetof(struct task, run_link));
}

static void o1_enqueue(struct runqueue *rq, struct task *t, enum requeue where)
{
    struct prio_array *a = where == REQUEUE_EXPIRED ? rq->expired : rq->active;
    if (where == REQUEUE_HEAD)
        prio_enqueue_head(a, &t->run_link, t->prio);
    else
        prio_enqueue(a, &t->run_link, t->prio);
    t->array = a;
    if (where == REQUEUE_EXPIRED && t->static_prio < rq->best_expired_prio)
        rq->best_expired_prio = t->static_prio;
    rq->nr_queued++;
}

static void o1_dequeue(struct runqueue *rq, struct task *t)
{
    prio_dequeue(t->array, &t->run_link, t->prio);
    t->array = NULL;
    rq->nr_queued--;
}

/* The best task of the active array; when it is empty and the expired one
 * is not, the two swap first (2.6's schedule()). */
static struct task *o1_pick(struct runqueue *rq)
{
    if (!rq->active->nr_active && rq->expired->nr_active) {
        struct prio_array *a = rq->active;
        rq->active = rq->expired;
        rq->expired = a;
        rq->expired_timestamp_ms = 0;
        rq->best_expired_prio = MAX_PRIO;
        rq->array_swaps++;
    }
    int idx = prio_first(rq->active);
    if (idx == MAX_PRIO)
        return NULL;
    struct task *t = task_of(prio_head(rq->active, idx));
    o1_dequeue(rq, t);
    return t;
}

static void rq_enqueue(struct runqueue *rq, struct task *t, enum requeue where)
{
    if (o1())
        o1_enqueue(rq, t, where);
    else if (where == REQUEUE_HEAD)
        enqueue_head(rq, t);
    else
        enqueue_tail(rq, t);
}

/* A task that slept (or waited) becomes runnable: 2.6's activate_task(),
 * which credits the sleep to sleep_avg and recomputes the dynamic
 * priority. Returns whether it should preempt what runs on rq: rr always
 * (it is queued at the head), o1 when its priority is better. */
static bool activate(struct runqueue *rq, struct task *t)
{
    if (!o1()) {
        enqueue_head(rq, t);
        return true;
    }
    uint64_t now = sched_clock_ns();
    if (t->policy == SCHED_NORMAL) {
        t->sleep_avg_ns = prio_sleep_avg_after_sleep(t->sleep_avg_ns, now - t->timestamp_ns, t->static_prio,
                                                     t->kind == TASK_PROCESS);
        t->prio = prio_effective(t->static_prio, t->sleep_avg_ns);
    }
    t->timestamp_ns = now;
    o1_enqueue(rq, t, REQUEUE_TAIL);
    return t->prio < rq->curr->prio; /* TASK_PREEMPTS_CURR(); the idle task's is MAX_PRIO */
}

/* scheduler_tick() for the running task t, one tick charged. */
static void o1_tick(struct runqueue *rq, struct task *t)
{
    if (t->policy == SCHED_FIFO) /* runs until it blocks or yields */
        return;
    if (t->time_slice > 1) {
        t->time_slice--;
        return;
    }
    t->slices++;
    t->time_slice = prio_timeslice_ticks(t->static_prio, cfg.hz);
    t->switch_why = TRACE_SWITCH_SLICE;
    rq->need_resched = true;
    if (t->policy == SCHED_RR) { /* round robin within its priority, never expired */
        t->requeue = REQUEUE_TAIL;
        return;
    }
    t->prio = prio_effective(t->static_prio, t->sleep_avg_ns);
    uint64_t now_ms = jiffies_ms();
    if (!rq->expired_timestamp_ms)
        rq->expired_timestamp_ms = now_ms ? now_ms : 1;
    bool starving = prio_expired_starving(now_ms, rq->expired_timestamp_ms, load(rq), t->static_prio,
                                          rq->best_expired_prio);
    t->requeue = !prio_interactive(t->prio, t->static_prio) || starving ? REQUEUE_EXPIRED : REQUEUE_TAIL;
}

void sched_task_defaults(struct task *t)
{
    t->run_link.next = t->run_link.prev = &t->run_link;
    t->policy = SCHED_NORMAL;
    t->static_prio = t->prio = DEFAULT_PRIO;
    t->time_slice = prio_timeslice_ticks(DEFAULT_PRIO, cfg.hz);
    t->timestamp_ns = sched_clock_ns();
}

void sched_fork(struct task *child, struct task *parent)
{
    sched_task_defaults(child);
    child->policy = parent->policy;
    child->rt_priority = parent->rt_priority;
    child->static_prio = parent->static_prio;
    /* The parent's slice is shared, so forking gains no CPU time. */
    child->time_slice = (parent->time_slice + 1) / 2;
    parent->time_slice /= 2;
    if (!parent->time_slice)
        parent->time_slice = 1;
    child->sleep_avg_ns = prio_sleep_avg_penalty(parent->sleep_avg_ns, CHILD_PENALTY);
    parent->sleep_avg_ns = prio_sleep_avg_penalty(parent->sleep_avg_ns, PARENT_PENALTY);
    child->prio = parent->policy == SCHED_NORMAL ? prio_effective(child->static_prio, child->sleep_avg_ns)
                                                  : parent->prio;
}

/* Called on every CPU before it runs anything: its idle task is the stack
 * it runs on, and what `current` finds there must name the CPU. */
static void init_idle(unsigned cpu)
{
    struct task *idle = &idle_stacks[cpu].task;
    idle->id = -1;
    idle->kind = TASK_IDLE;
    idle->state = TASK_RUNNABLE;
    idle->cpu = cpu;
    idle->on_cpu = true;
    idle->prio = idle->static_prio = MAX_PRIO; /* anything preempts it */
    struct runqueue *rq = &rqs[cpu];
    rq->idle = idle;
    rq->curr = idle;
    rq->lock.name = "runqueue";
    prio_array_init(&rq->arrays[0]);
    prio_array_init(&rq->arrays[1]);
    rq->active = &rq->arrays[0];
    rq->expired = &rq->arrays[1];
    rq->best_expired_prio = MAX_PRIO;
}

static void setup_task(unsigned i, enum task_kind kind, unsigned cpu, void (*entry)(long), long arg)
{
    struct task *t = &task_stacks[i].task;
    t->id = (int)i;
    t->kind = kind;
    t->state = TASK_RUNNABLE;
    t->cpu = cpu;
    t->line = -1;
    sched_task_defaults(t);

    /* A new task's kernel stack looks like one that was switched out in
     * the middle of returning from an interrupt: a trapframe that irets to
     * the task's entry in ring 3 with IF=1, and below it a switch_to frame
     * whose return address is ret_from_fork. The stack is BSS, so every
     * register not set here starts as zero. */
    struct trapframe *tf = (struct trapframe *)kstack_top(t) - 1;
    tf->rip = (uint64_t)entry;
    tf->cs = USER_CS;
    tf->rflags = 0x202; /* IF */
    /* As if called: rsp+8 is 16-byte aligned at function entry. */
    tf->rsp = (uint64_t)(user_stacks[i] + USTACK_SIZE) - 8;
    tf->ss = USER_DS;
    tf->rdi = arg < 0 ? i : (uint64_t)arg;

    uint64_t *sp = (uint64_t *)tf;
    *--sp = (uint64_t)ret_from_fork;
    sp -= 6; /* rbx rbp r12 r13 r14 r15, popped by switch_to */
    t->ksp = (uint64_t)sp;
    /* Under the lock: the APs are online already, and with tick=lapic
     * their ticks wake their idle loops into schedule() at any time. */
    spin_lock(&rqs[cpu].lock);
    rq_enqueue(&rqs[cpu], t, REQUEUE_TAIL);
    spin_unlock(&rqs[cpu].lock);
}

static void set_vvar(void)
{
    vvar.hz = cfg.hz;
    vvar.progress_ms = cfg.progress_ms;
    vvar.task_ms = cfg.task_ms;
    vvar.crash_user = cfg.crash == CRASH_USER ? USER_CRASH_CLI : cfg.crash == CRASH_SYSCALL ? USER_CRASH_SYSCALL : 0;
    vvar.wake_log = cfg.wake_log;
    vvar.nap_ms = cfg.nap_ms;
    vvar.wake_mark = cfg.wake_mark;
}

void sched_init(void)
{
    /* The APs' ticks read these for balancing: the list is complete before
     * the count says so. */
    unsigned n = 0;
    for (unsigned c = 0; c < ncpus; c++)
        if (cpus[c].online)
            online_list[n++] = c;
    __atomic_store_n(&nonline, n, __ATOMIC_RELEASE);
    set_vvar();
    if (cfg.wake_mark)
        tss_allow_wake_mark();
    ntasks = cfg.tasks + cfg.nwaiters + cfg.sleepers;
    nalive = cfg.tasks;
    for (unsigned i = 0; i < ntasks; i++) {
        unsigned cpu = cfg.placement == PLACE_CPU0 ? 0 : online_list[i % nonline];
        if (i < cfg.tasks) {
            setup_task(i, TASK_WORKER, cpu, user_task_main, -1);
        } else if (i >= cfg.tasks + cfg.nwaiters) {
            setup_task(i, TASK_SLEEPER, cpu, user_sleeper_main, -1);
        } else {
            uint16_t gsi = cfg.waiter_gsi[i - cfg.tasks];
            vvar.waiter_gsi[i] = gsi;
            setup_task(i, TASK_WAITER, cpu, user_waiter_main, -1);
            task_stacks[i].task.line = irq_line_index(gsi);
        }
    }
}

void sched_init_custom(unsigned n, void (*entry)(long), long arg)
{
    set_vvar();
    ntasks = n;
    nalive = n;
    for (unsigned i = 0; i < n; i++)
        setup_task(i, TASK_WORKER, 0, entry, arg);
}

void sched_init_cpu(unsigned cpu)
{
    init_idle(cpu);
}

void sched_add(struct task *t, unsigned cpu)
{
    struct runqueue *rq = &rqs[cpu];
    spin_lock(&rq->lock);
    t->cpu = cpu;
    rq_enqueue(rq, t, REQUEUE_TAIL);
    if (rq->curr == rq->idle)
        rq->need_resched = true;
    spin_unlock(&rq->lock);
    if (cpu != this_cpu_id() && rq->curr == rq->idle)
        ipi_send(cpu, IPI_RESCHED);
}

static void schedule(void);

__attribute__((noreturn)) void sched_die(void)
{
    schedule(); /* never comes back: a dead task is not queued */
    for (;;)
        __asm__ volatile("hlt");
}

static void finish_switch(struct task *last)
{
    last->on_cpu = false;
    spin_unlock(&rqs[this_cpu_id()].lock);
}

/* A new task's first instructions (arch/switch.S, ret_from_fork). */
void schedule_tail(struct task *last)
{
    finish_switch(last);
    struct task *t = current();
    trace_event(TRACE_TASK_START, 0, trace_task(t->id), t->kind);
}

/* Why prev gives up the CPU, from the state it leaves in. A slice that
 * was used up is the reason even when a wake-up also asked: prev would
 * have gone anyway, the woken task only decides who comes next. */
static uint32_t switch_reason(const struct task *prev, bool woken)
{
    if (prev->kind == TASK_IDLE)
        return TRACE_SWITCH_IDLE;
    if (prev->state == TASK_DEAD)
        return TRACE_SWITCH_EXIT;
    if (prev->state != TASK_RUNNABLE)
        return TRACE_SWITCH_BLOCK;
    if (o1() && prev->switch_why)
        return prev->switch_why; /* slice or yield, as o1_tick and sched_yield saw it */
    if (!o1() && prev->slice >= cfg.quantum_ticks)
        return TRACE_SWITCH_SLICE;
    if (woken)
        return TRACE_SWITCH_WOKEN;
    return TRACE_SWITCH_OTHER; /* yield(), or a reschedule IPI nobody's wake-up sent */
}

/* With rq->lock held; returns with it released. */
static void schedule_locked(struct runqueue *rq)
{
    struct task *prev = current();
    bool woken = rq->woken;
    rq->need_resched = false;
    rq->woken = false;
    uint64_t start = rdtsc();
    enum requeue where = REQUEUE_TAIL;
    if (o1() && prev->kind != TASK_IDLE) {
        /* 2.6's schedule(): the run time comes off sleep_avg (less of it
         * at a high bonus); the slice's end or a yield said where prev
         * goes (REQUEUE_HEAD, its place, when it was preempted). */
        uint64_t now = sched_clock_ns();
        if (prev->policy == SCHED_NORMAL)
            prev->sleep_avg_ns = prio_sleep_avg_after_run(prev->sleep_avg_ns, now - prev->timestamp_ns);
        prev->timestamp_ns = now;
        where = (enum requeue)prev->requeue;
        prev->requeue = REQUEUE_HEAD;
    }
    if (prev->state == TASK_RUNNABLE && prev->kind != TASK_IDLE)
        rq_enqueue(rq, prev, where);
    struct task *next = o1() ? o1_pick(rq) : dequeue_head(rq);
    if (!next)
        next = rq->idle;
    next->slice = 0;
    rq->pick_cycles += rdtsc() - start;
    rq->picks++;
    uint32_t reason = switch_reason(prev, woken);
    prev->switch_why = 0;
    if (next == prev) {
        spin_unlock(&rq->lock);
        return;
    }
    next->on_cpu = true;
    next->scheduled++;
    next->timestamp_ns = sched_clock_ns();
    rq->switches++;
    if (tracing()) {
        /* o1: each task's id with its priority and the array prev went to
         * (1 active, 2 expired, 0 none) above it; rr: the ids alone. */
        uint64_t prev_arg = trace_task(prev->id), next_arg = trace_task(next->id);
        if (o1()) {
            uint64_t prev_array = !prev->array ? 0 : prev->array == rq->active ? 1 : 2;
            prev_arg |= (uint64_t)(uint8_t)prev->prio << 32 | prev_array << 40 | 1ULL << 48;
            next_arg |= (uint64_t)(uint8_t)next->prio << 32 | 1ULL << 48;
        }
        trace_record(TRACE_SWITCH, reason, prev_arg, next_arg);
    }
    rq->curr = next;
    struct cpu *c = &cpus[prev->cpu];
    c->tss.rsp0 = c->syscall.kstack = kstack_top(next);
    if (prev->kind == TASK_PROCESS && prev->state != TASK_DEAD)
        proc_switch_out(prev);
    if (next->kind == TASK_PROCESS)
        proc_switch_in(next);
    /* Built-in tasks and the idle loop share the boot page tables, so
     * only a switch to or from a process changes CR3 (and flushes the
     * TLB). */
    uint64_t cr3 = task_cr3(next);
    if (read_cr3() != cr3)
        write_cr3(cr3);
    finish_switch(switch_to(prev, next));
    /* Back here when prev is picked again; return through trap() and
     * ret_from_trap into its user context (or into the idle loop). */
}

static void schedule(void)
{
    struct runqueue *rq = &rqs[this_cpu_id()];
    spin_lock(&rq->lock);
    schedule_locked(rq);
}

__attribute__((noreturn)) void sched_run_cpu(void)
{
    struct runqueue *rq = &rqs[this_cpu_id()];
    for (;;) {
        schedule();
        /* Nothing to run: wait for a tick or an IPI. A wake-up between the
         * check and the hlt is not lost: IF=0 holds its interrupt pending
         * until sti, whose shadow covers the hlt. */
        if (!rq->need_resched && !rq->nr_queued)
            wait_for_interrupt();
    }
}

/* 2.6's move_tasks() for one task: from the busiest queue's expired array
 * first (those will not run soon, and their caches are cold), the best
 * priority first, the last queued of it; into the same array here. It
 * preempts what runs here if it is better (pull_task()). */
static void o1_pull(struct runqueue *src, struct runqueue *dst, unsigned me)
{
    bool from_expired = src->expired->nr_active > 0;
    struct prio_array *array = from_expired ? src->expired : src->active;
    struct task *t = task_of(prio_tail(array, prio_first(array)));
    o1_dequeue(src, t);
    t->cpu = me;
    o1_enqueue(dst, t, from_expired ? REQUEUE_EXPIRED : REQUEUE_TAIL);
    if (from_expired)
        dst->pulled_expired++;
    else
        dst->pulled_active++;
    if (t->prio < dst->curr->prio)
        dst->need_resched = true;
}

/* Pulls one queued task from the busiest CPU when it has at least two
 * more than this one. Locks in CPU order, so two CPUs balancing against
 * each other cannot deadlock. */
static void balance(unsigned me)
{
    struct runqueue *mine = &rqs[me];
    unsigned busiest = me, max = load(mine);
    for (unsigned k = 0; k < nonline; k++) {
        unsigned c = online_list[k];
        unsigned l = load(&rqs[c]);
        if (c != me && l > max) {
            max = l;
            busiest = c;
        }
    }
    if (busiest == me || max < load(mine) + 2)
        return;
    struct runqueue *src = &rqs[busiest];
    struct runqueue *first = busiest < me ? src : mine, *second = busiest < me ? mine : src;
    spin_lock(&first->lock);
    spin_lock(&second->lock);
    if (load(src) >= load(mine) + 2 && src->nr_queued) {
        /* Queued tasks are never on a CPU: the queue's lock is held from
         * enqueuing the previous task until its switch is complete. */
        if (o1()) {
            o1_pull(src, mine, me);
        } else {
            struct task *t = dequeue_tail(src);
            t->cpu = me;
            enqueue_tail(mine, t);
            if (mine->curr == mine->idle)
                mine->need_resched = true;
        }
        mine->migrations++;
    }
    spin_unlock(&second->lock);
    spin_unlock(&first->lock);
}

/* A tick on this CPU, after its EOI. Kept short: it runs on every tick
 * under the instruction emulator. */
void sched_tick(uint64_t n)
{
    unsigned me = this_cpu_id();
    struct runqueue *rq = &rqs[me];
    struct task *t = current();
    if (rq->parked)
        return;
    if (t->kind == TASK_IDLE) {
        rq->idle_ticks += n; /* a halted CPU was idle all along */
    } else {
        /* A late tick (n > 1: the vCPU did not run, or its tick IPI waited
         * for it) charges the running task the one tick it was seen to run;
         * the rest is stolen time, counted apart, as a guest of a hypervisor
         * counts steal. So a host that holds a vCPU back does not skew the
         * shares of whichever tasks happened to be running then. */
        rq->steal_ticks += n - 1;
        t->ticks++;
        if (t->kind != TASK_PROCESS)
            vvar.task_ticks[t->id] = t->ticks;
        if (o1())
            o1_tick(rq, t);
        else if (++t->slice >= cfg.quantum_ticks)
            rq->need_resched = true;
    }
    if (rq->sleepers) {
        spin_lock(&rq->lock);
        struct task **link = &rq->sleepers;
        while (*link) {
            struct task *s = *link;
            if (s->wake_at <= jiffies) {
                *link = s->next;
                s->state = TASK_RUNNABLE;
                if (activate(rq, s)) {
                    rq->need_resched = true;
                    rq->woken = true;
                }
                trace_event(TRACE_WAKE, TRACE_NO_GSI, trace_task(s->id), me);
            } else {
                link = &s->next;
            }
        }
        spin_unlock(&rq->lock);
    }
    rq->since_balance += n;
    if (nonline > 1 && (t->kind == TASK_IDLE || rq->since_balance >= BALANCE_TICKS)) {
        rq->since_balance = 0;
        balance(me);
    }
}

void sched_return_to_user(void)
{
    if (rqs[this_cpu_id()].need_resched)
        schedule();
}

void sched_resched_ipi(void)
{
    rqs[this_cpu_id()].need_resched = true;
}

void sched_yield(void)
{
    /* 2.6's sys_sched_yield(): a normal task goes to the expired array, a
     * real-time one to the end of its list. */
    struct task *t = current();
    if (o1() && t->kind != TASK_IDLE) {
        t->requeue = t->policy == SCHED_NORMAL ? REQUEUE_EXPIRED : REQUEUE_TAIL;
        t->switch_why = TRACE_SWITCH_YIELD;
    }
    rqs[this_cpu_id()].need_resched = true;
}

int sched_current_id(void)
{
    return current()->id;
}

unsigned sched_current_cpu(void)
{
    return this_cpu_id();
}

void sched_sleep_until(uint64_t deadline)
{
    struct task *t = current();
    struct runqueue *rq = &rqs[t->cpu];
    spin_lock(&rq->lock);
    t->state = TASK_SLEEPING;
    t->wake_at = deadline;
    t->next = rq->sleepers;
    rq->sleepers = t;
    schedule_locked(rq);
}

void sched_block(void)
{
    struct task *t = current();
    struct runqueue *rq = &rqs[t->cpu];
    spin_lock(&rq->lock);
    if (t->state == TASK_RUNNABLE) { /* woken before it could sleep */
        spin_unlock(&rq->lock);
        return;
    }
    schedule_locked(rq);
}

bool sched_wake(struct task *t, uint32_t gsi)
{
    /* A waiting task is on no run queue, so nothing migrates it: its cpu
     * is stable until it runs again. */
    unsigned target = t->cpu;
    struct runqueue *rq = &rqs[target];
    spin_lock(&rq->lock);
    if (t->state != TASK_WAITING && t->state != TASK_SLEEPING) {
        spin_unlock(&rq->lock);
        return false;
    }
    t->state = TASK_RUNNABLE;
    bool queued = rq->curr != t; /* else it has not switched away yet */
    bool preempt = queued && activate(rq, t);
    if (preempt) {
        rq->need_resched = true;
        rq->woken = true;
    }
    /* Under the lock: the switch to t on its CPU comes after, in TSC
     * order too. */
    trace_event(TRACE_WAKE, gsi, trace_task(t->id), target);
    spin_unlock(&rq->lock);
    bool remote = target != this_cpu_id();
    if (preempt && remote)
        ipi_send(target, IPI_RESCHED);
    return remote;
}

/* ---- priorities from system calls ----------------------------------------- */

void sched_set_params(struct task *t, int static_prio, int policy, int rt_priority)
{
    /* t's queue: t may move to another CPU's until its lock is held. */
    struct runqueue *rq;
    for (;;) {
        rq = &rqs[__atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE)];
        spin_lock(&rq->lock);
        if (&rqs[t->cpu] == rq)
            break;
        spin_unlock(&rq->lock);
    }
    bool queued = o1() && t->array != NULL;
    if (queued)
        o1_dequeue(rq, t);
    int old_prio = t->prio;
    t->static_prio = static_prio;
    t->policy = policy;
    t->rt_priority = rt_priority;
    t->prio = policy == SCHED_NORMAL ? prio_effective(static_prio, t->sleep_avg_ns) : prio_of_rt(rt_priority);
    if (policy == SCHED_NORMAL && t->time_slice > prio_timeslice_ticks(static_prio, cfg.hz))
        t->time_slice = prio_timeslice_ticks(static_prio, cfg.hz);
    bool resched = false;
    if (queued) {
        o1_enqueue(rq, t, REQUEUE_TAIL);
        resched = t->prio < rq->curr->prio; /* it now beats what runs there */
    } else if (o1() && rq->curr == t && t->prio > old_prio) {
        resched = true; /* it may no longer be the best: let schedule() look */
    }
    if (resched)
        rq->need_resched = true;
    unsigned cpu = t->cpu;
    spin_unlock(&rq->lock);
    if (resched && cpu != this_cpu_id())
        ipi_send(cpu, IPI_RESCHED);
}

static const char *policy_name(int policy)
{
    return policy == SCHED_FIFO ? "fifo" : policy == SCHED_RR ? "rr" : "normal";
}

void sched_print_task(const struct task *t)
{
    kprintf("sched pid=%d name=%s policy=%s nice=%d rt_priority=%d static_prio=%d prio=%d sleep_avg_ms=%lu "
            "slices=%lu ticks=%lu switches=%lu\n",
            t->id, t->kind == TASK_PROCESS ? t->name : "task", policy_name(t->policy),
            PRIO_TO_NICE(t->static_prio), t->rt_priority, t->static_prio, t->prio,
            t->sleep_avg_ns / 1000000, t->slices, t->ticks, t->scheduled);
}

/* ---- the end of the run ------------------------------------------------ */

__attribute__((noreturn)) void sched_park_cpu(void)
{
    rqs[this_cpu_id()].parked = true;
    /* With interrupts on: IPIs already on their way are taken (and
     * counted) here, so every one sent is also received. */
    for (;;)
        wait_for_interrupt();
}

/* Waits (with interrupts off) until every other online CPU has parked and
 * taken every IPI sent to it; bounded, in case one never answers. */
static void stop_other_cpus(unsigned me)
{
    for (unsigned k = 0; k < nonline; k++)
        if (online_list[k] != me)
            ipi_send(online_list[k], IPI_STOP);
    for (unsigned k = 0; k < nonline; k++) {
        unsigned c = online_list[k];
        if (c == me)
            continue;
        uint64_t spins = 0;
        while (!(rqs[c].parked && ipi_none_pending(c)) && spins < 2000000) {
            cpu_relax();
            spins++;
        }
        if (!rqs[c].parked)
            kprintf("warn cpu id=%u state=unresponsive\n", c);
    }
}

static const char *const state_names[] = { "runnable", "sleeping", "waiting", "dead" };

static void print_summary(void)
{
    uint64_t switches = 0;
    for (unsigned i = 0; i < ntasks; i++) {
        struct task *t = &task_stacks[i].task;
        if (t->kind != TASK_WORKER)
            continue;
        if (t->state == TASK_DEAD)
            kprintf("summary id=%d ticks=%lu scheduled=%lu work=%lu exit=%ld cpu=%u\n", t->id,
                    t->ticks, t->scheduled, ustats.work[i], t->exit_code, t->cpu);
        else
            kprintf("summary id=%d ticks=%lu scheduled=%lu work=%lu exit=running cpu=%u\n", t->id,
                    t->ticks, t->scheduled, ustats.work[i], t->cpu);
    }
    for (unsigned i = 0; i < ntasks; i++) {
        struct task *t = &task_stacks[i].task;
        if (t->kind == TASK_WAITER)
            kprintf("waiter id=%d line=%u wakeups=%lu remote_wakeups=%lu cpu=%u pending=%lu state=%s\n",
                    t->id, vvar.waiter_gsi[i], t->wakeups, t->remote_wakeups, t->cpu,
                    irq_line_pending(t->line), state_names[t->state]);
        if (t->kind == TASK_SLEEPER)
            kprintf("sleeper id=%d nap_ms=%u naps=%lu cpu=%u\n", t->id, cfg.nap_ms, t->wakeups,
                    t->cpu);
    }
    for (unsigned k = 0; k < nonline; k++) {
        unsigned c = online_list[k];
        const struct runqueue *rq = &rqs[c];
        const struct ipi_stats *ipi = ipi_stats(c);
        switches += rq->switches;
        kprintf("cpu id=%u apic=%u ticks=%lu switches=%lu idle_ms=%lu ipi_sent=%lu "
                "ipi_received=%lu migrations=%lu tick_irqs=%lu resched_ipis=%lu steal_ms=%lu\n",
                c, cpus[c].apic_id, tick_cpu_ticks(c), rq->switches, ticks_to_ms(rq->idle_ticks),
                ipi->sent, ipi->received, rq->migrations, tick_cpu_irqs(c),
                ipi->received_kind[IPI_RESCHED], ticks_to_ms(rq->steal_ticks));
    }
    if (cfg.init[0]) {
        proc_summary();
        linux_summary();
    }
    if (o1())
        for (unsigned i = 0; i < ntasks; i++)
            sched_print_task(&task_stacks[i].task);
    if (o1() || cfg.init[0])
        for (unsigned k = 0; k < nonline; k++) {
            const struct runqueue *rq = &rqs[online_list[k]];
            kprintf("sched cpu=%u policy=%s picks=%lu pick_cycles=%lu array_swaps=%lu pulled_expired=%lu "
                    "pulled_active=%lu\n",
                    online_list[k], sched_mode_name(cfg.sched), rq->picks,
                    rq->picks ? rq->pick_cycles / rq->picks : 0, rq->array_swaps, rq->pulled_expired,
                    rq->pulled_active);
        }
    trace_sync(); /* the second sync: vmm measures the drift over the run */
    kprintf("total ticks=%lu switches=%lu tasks=%u runtime_ms=%lu syscalls=%lu syscalls_via_ud=%lu "
            "uart_stalls=%lu nmi=%lu spurious=%lu cpus=%u waiters=%u tick=%s\n",
            jiffies, switches, cfg.tasks, ticks_to_ms(jiffies), syscall_count(),
            syscall_count_via_ud(), console_stalls(), trap_nmi_count(), trap_spurious_count(),
            nonline, cfg.nwaiters, tick_mode_name(cfg.tick));
    irq_summary();
}

__attribute__((noreturn)) void sched_finish_with(int code)
{
    if (__atomic_exchange_n(&finishing, 1, __ATOMIC_SEQ_CST))
        sched_park_cpu(); /* another CPU is finishing the run */
    tick_stop();
    /* A process may be the one finishing: its page tables may go away
     * with it, so the summary runs on the boot ones. */
    write_cr3(mm_kernel_cr3());
    stop_other_cpus(this_cpu_id());
    console_sync();
    print_summary();
    kernel_exit(code);
}

__attribute__((noreturn)) void sched_finish(void)
{
    sched_finish_with(any_failed ? EXIT_TASK_FAILED : EXIT_OK);
}

__attribute__((noreturn)) void sched_exit_current(long code)
{
    struct task *t = current();
    t->state = TASK_DEAD;
    t->exit_code = code;
    if (code)
        any_failed = true;
    trace_event(TRACE_TASK_EXIT, 0, trace_task(t->id), 0);
    unsigned left = __atomic_sub_fetch(&nalive, 1, __ATOMIC_SEQ_CST);
    if (cfg.mode == MODE_BENCH_SERIAL) /* no lines inside the payload */
        bench_serial_done(code);
    kprintf("task id=%d state=exit code=%ld\n", t->id, code);
    if (!left)
        sched_finish();
    sched_die();
}
