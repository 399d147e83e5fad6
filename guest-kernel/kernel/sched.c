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

struct runqueue {
    struct spinlock lock;
    struct task *head, *tail; /* runnable, not running */
    unsigned nr_queued;
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
    rqs[cpu].idle = idle;
    rqs[cpu].curr = idle;
    rqs[cpu].lock.name = "runqueue";
}

static void setup_task(unsigned i, enum task_kind kind, unsigned cpu, void (*entry)(long), long arg)
{
    struct task *t = &task_stacks[i].task;
    t->id = (int)i;
    t->kind = kind;
    t->state = TASK_RUNNABLE;
    t->cpu = cpu;
    t->line = -1;

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
    enqueue_tail(&rqs[cpu], t);
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
    enqueue_tail(rq, t);
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
    if (prev->slice >= cfg.quantum_ticks)
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
    if (prev->state == TASK_RUNNABLE && prev->kind != TASK_IDLE)
        enqueue_tail(rq, prev);
    struct task *next = dequeue_head(rq);
    if (!next)
        next = rq->idle;
    next->slice = 0;
    if (next == prev) {
        spin_unlock(&rq->lock);
        return;
    }
    next->on_cpu = true;
    next->scheduled++;
    rq->switches++;
    if (tracing())
        trace_record(TRACE_SWITCH, switch_reason(prev, woken), trace_task(prev->id),
                     trace_task(next->id));
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
        struct task *t = dequeue_tail(src);
        t->cpu = me;
        enqueue_tail(mine, t);
        mine->migrations++;
        if (mine->curr == mine->idle)
            mine->need_resched = true;
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
        if (++t->slice >= cfg.quantum_ticks)
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
                enqueue_head(rq, s);
                rq->need_resched = true;
                rq->woken = true;
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
    if (queued) {
        enqueue_head(rq, t);
        rq->need_resched = true;
        rq->woken = true;
    }
    /* Under the lock: the switch to t on its CPU comes after, in TSC
     * order too. */
    trace_event(TRACE_WAKE, gsi, trace_task(t->id), target);
    spin_unlock(&rq->lock);
    bool remote = target != this_cpu_id();
    if (queued && remote)
        ipi_send(target, IPI_RESCHED);
    return remote;
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
