/* kernel/sched.h - tasks, per-CPU run queues, blocking and wake-ups.
 *
 * A task's struct sits at the base of its kernel stack (Linux's old
 * thread_info), so `current` is the stack pointer rounded down: no per-CPU
 * register to keep right, and swapgs (which the instruction emulator our
 * KVM runs ring 0 in does not know) is never needed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86.h"
#include "kernel/file.h"
#include "kernel/mm.h"
#include "kernel/prio.h"

#define KSTACK_SIZE 8192

/* A dead process is a zombie until its parent's wait4 reaps it. */
enum task_state { TASK_RUNNABLE, TASK_SLEEPING, TASK_WAITING, TASK_DEAD };
/* Built-in tasks run in the kernel image's user page (user/user.c) on the
 * boot page tables; a process runs a program, in an address space of its
 * own (kernel/proc.c). */
enum task_kind { TASK_WORKER, TASK_WAITER, TASK_SLEEPER, TASK_IDLE, TASK_PROCESS };

#define MAX_PROCS 64 /* fork's EAGAIN beyond this */
#define MAX_FDS 16

struct task {
    uint64_t ksp; /* saved rsp while switched out; offset 0 for switch.S */
    int id;       /* task id; -1 for the idle tasks */
    enum task_kind kind;
    volatile enum task_state state;
    unsigned cpu;     /* the run queue it belongs to */
    bool on_cpu;      /* its registers are live on cpu (until the switch away ends) */
    struct task *next; /* run queue, sleep list or wait list */
    uint64_t ticks;     /* ticks charged to this task */
    uint64_t scheduled; /* times switched in */
    uint64_t slice;     /* ticks used in the current slice */
    uint64_t wake_at;   /* TASK_SLEEPING: jiffies to wake at */
    uint64_t wakeups;   /* times woken from a wait or a sleep */
    uint64_t remote_wakeups; /* of those, by an interrupt on another CPU */
    int line;           /* waiters: index of its irqs= line */
    long exit_code;
    /* The O(1) scheduler's (sched=o1; kernel/prio.h). rr keeps them too,
     * for the system calls, but ignores them. */
    struct prio_link run_link;
    struct prio_array *array; /* the array it is queued in; NULL when not queued */
    int policy;               /* SCHED_NORMAL, SCHED_FIFO, SCHED_RR */
    int rt_priority;          /* 1..99 for FIFO and RR, 0 for normal tasks */
    int static_prio;          /* 120 + nice */
    int prio;                 /* dynamic: 0-99 real-time, 100-139 normal */
    unsigned time_slice;      /* ticks left of its slice */
    uint64_t sleep_avg_ns;
    uint64_t timestamp_ns;    /* when it last started to run, or to sleep */
    uint8_t requeue;          /* where schedule() queues it again (sched.c) */
    uint8_t switch_why;       /* why it gives up the CPU next, for the trace */
    uint64_t slices;          /* time slices it used up */
    /* Processes only (the rest stay zero). */
    struct mm mm;
    struct task *parent;  /* init (pid 1) adopts orphans */
    unsigned slot;        /* index into the process table */
    int wait_status;      /* once dead: as wait4 reports it */
    bool in_wait4;        /* blocked in wait4: a child's exit wakes it */
    uint64_t fs_base;     /* arch_prctl(ARCH_SET_FS): musl's thread pointer */
    uint64_t sigmask;     /* rt_sigprocmask's; nothing is delivered yet */
    uint64_t clear_child_tid;
    const char *write_pending; /* console.c: a write waiting for room */
    size_t write_pending_len;
    struct file files[MAX_FDS];
    char name[16];        /* the program's file name, for the trace and kills */
    /* Its FPU/SSE registers while switched out (FXSAVE's layout): musl and
     * gcc's code use SSE, the kernel never does (-mgeneral-regs-only). */
    uint8_t fpu[512] __attribute__((aligned(16)));
};

union task_stack {
    struct task task;
    uint8_t bytes[KSTACK_SIZE];
} __attribute__((aligned(KSTACK_SIZE)));

static inline struct task *current(void)
{
    return (struct task *)(read_rsp() & ~(uint64_t)(KSTACK_SIZE - 1));
}

static inline unsigned this_cpu_id(void)
{
    return current()->cpu;
}

/* The boot stack: CPU 0's idle task (arch/boot.S starts on it). */
extern union task_stack idle_stacks[];

/* The tasks, spread over the CPUs that are online. */
void sched_init(void);
/* n tasks all entering `entry` with rdi = arg (instead of the task id). */
void sched_init_custom(unsigned n, void (*entry)(long), long arg);
/* This CPU runs its queue; the BSP calls it last in kmain, APs in ap_main. */
__attribute__((noreturn)) void sched_run_cpu(void);
/* `n` ticks passed on this CPU (usually 1; more after a stall). */
void sched_tick(uint64_t n);
void sched_return_to_user(void);
void sched_yield(void);
int sched_current_id(void);
unsigned sched_current_cpu(void);
__attribute__((noreturn)) void sched_exit_current(long code);

/* Blocks the current task until the jiffies reach `deadline`. */
void sched_sleep_until(uint64_t deadline);
/* Blocks the current task; the caller has queued it where a waker finds
 * it, and set state to TASK_WAITING under that queue's lock. */
void sched_block(void);
/* Makes a sleeping or waiting task runnable on its CPU; if it should
 * preempt what runs there, sets need_resched there, by IPI if that is
 * another CPU. Returns true when the wake-up crossed CPUs. `gsi`: the
 * line whose interrupt wakes it, for the trace. */
bool sched_wake(struct task *t, uint32_t gsi);

/* The end of the run, from any CPU: stops the others, prints the summary
 * lines and exits. */
__attribute__((noreturn)) void sched_finish(void);
/* This CPU was told to stop (IPI_STOP): park it for good. */
__attribute__((noreturn)) void sched_park_cpu(void);
/* A reschedule IPI arrived. */
void sched_resched_ipi(void);

/* Before a CPU runs anything: its idle task (the stack it runs on). */
void sched_init_cpu(unsigned cpu);

/* A new task (fork, init) becomes runnable on `cpu`. */
void sched_add(struct task *t, unsigned cpu);
/* The current task is dead (state set, under whatever lock its waiters
 * use): switches away for good. */
__attribute__((noreturn)) void sched_die(void);
/* Ends the run with `code` as vmm's exit status (init exited). */
__attribute__((noreturn)) void sched_finish_with(int code);
/* The O(1) fields of a new task: nice 0, normal, a full slice; a child
 * (fork) takes half its parent's slice and a share of its sleep average,
 * as Linux 2.6's sched_fork() and wake_up_new_task() do. */
void sched_task_defaults(struct task *t);
void sched_fork(struct task *child, struct task *parent);
/* setpriority() and sched_setscheduler(): new static priority, policy and
 * real-time priority for t, which may be queued or running anywhere. */
void sched_set_params(struct task *t, int static_prio, int policy, int rt_priority);
/* `sched ...` line: t's priorities and counts (processes' exit, the end). */
void sched_print_task(const struct task *t);

/* The boot page tables, for tasks without an address space of their own. */
static inline uint64_t task_cr3(const struct task *t)
{
    return t->mm.pml4 ? t->mm.pml4 : mm_kernel_cr3();
}
