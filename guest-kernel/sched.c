/* sched.c - round-robin preemptive scheduling of the ring-3 tasks.
 *
 * The timer interrupt charges the tick to the running task and, when its
 * slice is used up, sets need_resched. trap() calls sched_return_to_user()
 * on every way back to ring 3, which runs schedule() if needed: that is the
 * only place tasks switch, always on the kernel stack of the outgoing task
 * with its full user context saved by isr.S below. Kernel code is never
 * preempted, so nothing here needs locking. */
#include "kernel.h"

enum task_state { TASK_RUNNABLE, TASK_DEAD };

struct task {
    uint64_t ksp;        /* saved kernel rsp while switched out */
    uint64_t kstack_top; /* TSS.rsp0 while running */
    int id;
    enum task_state state;
    uint64_t ticks;     /* ticks charged to this task */
    uint64_t scheduled; /* times switched in */
    uint64_t slice;     /* ticks used in the current slice */
    long exit_code;
};

extern void switch_to(uint64_t *prev_ksp, uint64_t next_ksp);
extern char ret_from_trap[];

static struct task tasks[MAX_TASKS];
/* The boot context: where sched_start() switches away from. It is never
 * picked again, since tasks never block; when none is runnable, all have
 * exited and the run ends. */
static struct task boot_task = { .id = -1 };
static struct task *current = &boot_task;
static uint8_t kstacks[MAX_TASKS][KSTACK_SIZE] __attribute__((aligned(16)));

static volatile uint64_t ticks;
static uint64_t switches;
static bool need_resched;
static unsigned ntasks;
static unsigned nalive;
static bool any_failed;

void sched_init(void)
{
    sched_init_custom(cfg.tasks, user_task_main, -1);
}

/* arg < 0: each task gets its id in rdi. */
void sched_init_custom(unsigned n, void (*entry)(long), long arg)
{
    ntasks = n;
    nalive = ntasks;
    vvar.hz = cfg.hz;
    vvar.progress_ms = cfg.progress_ms;
    vvar.task_ms = cfg.task_ms;
    vvar.crash_user = cfg.crash == CRASH_USER;

    for (unsigned i = 0; i < ntasks; i++) {
        struct task *t = &tasks[i];
        t->id = (int)i;
        t->state = TASK_RUNNABLE;
        t->kstack_top = (uint64_t)(kstacks[i] + KSTACK_SIZE);

        /* A new task's kernel stack looks like one that was switched out
         * in the middle of returning from an interrupt: a trapframe that
         * irets to the task's entry in ring 3 with IF=1, and below it a
         * switch_to frame whose return address is ret_from_trap. The stack
         * is BSS, so every register not set here starts as zero. */
        struct trapframe *tf = (struct trapframe *)t->kstack_top - 1;
        tf->rip = (uint64_t)entry;
        tf->cs = USER_CS;
        tf->rflags = 0x202; /* IF */
        /* As if called: rsp+8 is 16-byte aligned at function entry. */
        tf->rsp = (uint64_t)(user_stacks[i] + USTACK_SIZE) - 8;
        tf->ss = USER_DS;
        tf->rdi = arg < 0 ? i : (uint64_t)arg;

        uint64_t *sp = (uint64_t *)tf;
        *--sp = (uint64_t)ret_from_trap;
        sp -= 6; /* rbx rbp r12 r13 r14 r15, popped by switch_to */
        t->ksp = (uint64_t)sp;
    }
}

static struct task *pick_next(void)
{
    unsigned start = current == &boot_task ? 0 : (unsigned)current->id + 1;
    for (unsigned k = 0; k < ntasks; k++) {
        struct task *t = &tasks[(start + k) % ntasks];
        if (t->state == TASK_RUNNABLE)
            return t;
    }
    return NULL;
}

/* Prints the per-task and total lines and ends the run. */
__attribute__((noreturn)) static void finish(void)
{
    console_sync();
    for (unsigned i = 0; i < ntasks; i++) {
        struct task *t = &tasks[i];
        if (t->state == TASK_DEAD)
            kprintf("summary id=%d ticks=%lu scheduled=%lu work=%lu exit=%ld\n", t->id, t->ticks,
                    t->scheduled, ustats.work[i], t->exit_code);
        else
            kprintf("summary id=%d ticks=%lu scheduled=%lu work=%lu exit=running\n", t->id,
                    t->ticks, t->scheduled, ustats.work[i]);
    }
    kprintf("total ticks=%lu switches=%lu tasks=%u runtime_ms=%lu syscalls=%lu syscalls_via_ud=%lu "
            "uart_stalls=%lu nmi=%lu spurious=%lu\n",
            ticks, switches, ntasks, ticks_to_ms(ticks), syscall_count(), syscall_count_via_ud(),
            console_stalls(), trap_nmi_count(), trap_spurious_count());
    irq_summary();
    kernel_exit(any_failed ? EXIT_TASK_FAILED : EXIT_OK);
}

static void schedule(void)
{
    struct task *prev = current;
    struct task *next = pick_next();

    need_resched = false;
    if (!next)
        finish();
    next->slice = 0;
    if (next == prev)
        return;
    next->scheduled++;
    switches++;
    current = next;
    tss_set_rsp0(next->kstack_top);
    switch_to(&prev->ksp, next->ksp);
    /* Back here when prev is picked again; return through trap() and
     * ret_from_trap into its user context. */
}

__attribute__((noreturn)) void sched_start(void)
{
    schedule();
    /* Unreachable: the boot context is never picked again. */
    for (;;)
        __asm__ volatile("sti; hlt; cli");
}

/* IRQ0. Kept short: it runs at every tick under the instruction emulator. */
void sched_tick(void)
{
    uint64_t now = ticks + 1;
    ticks = now;
    vvar.ticks = now;
    if (current != &boot_task) {
        uint64_t t = ++current->ticks;
        vvar.task_ticks[current->id] = t;
        if (++current->slice >= cfg.quantum_ticks)
            need_resched = true;
    }
    pic_eoi(IRQ_TIMER);
    /* nmi=finish: the NMI handler only counts (it may have interrupted
     * anything, finish() included); the run ends here, at the next tick. */
    if ((cfg.runtime_ticks && now >= cfg.runtime_ticks) ||
        (cfg.nmi == NMI_FINISH && trap_nmi_count() > 0))
        finish();
}

void sched_return_to_user(void)
{
    if (need_resched)
        schedule();
}

void sched_yield(void)
{
    need_resched = true;
}

int sched_current_id(void)
{
    return current->id;
}

uint64_t sched_ticks(void)
{
    return ticks;
}

__attribute__((noreturn)) void sched_exit_current(long code)
{
    current->state = TASK_DEAD;
    current->exit_code = code;
    if (code)
        any_failed = true;
    nalive--;
    if (cfg.mode == MODE_BENCH_SERIAL) /* no lines inside the payload */
        bench_serial_done(code);
    kprintf("task id=%d state=exit code=%ld\n", current->id, code);
    if (!nalive)
        finish();
    schedule(); /* never comes back: a dead task is not picked */
    for (;;)
        __asm__ volatile("hlt");
}
