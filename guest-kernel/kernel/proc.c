/* proc.c - the process table, fork, exit, wait4 and the faults that kill
 * (see proc.h). Each process's struct task sits at the base of its 8 KiB
 * kernel stack, as the built-in tasks' do, in a pool reserved at boot: the
 * pool's size is the process limit, and fork beyond it is EAGAIN.
 *
 * proc_lock guards the table and every parent/child link. A parent in
 * wait4 marks itself waiting under it, and an exiting child wakes it
 * under it, so no exit slips between the parent's look at its children
 * and its sleep (sched_block() also returns at once for a task woken
 * before it switched away). Lock order: proc_lock, then a run queue's. */
#include "kernel/proc.h"

#include "arch/cpu.h"
#include "arch/mmu.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/spinlock.h"
#include "kernel/trace.h"
#include "lib/string.h"

#define WNOHANG 1
#define WUNTRACED 2
#define WCONTINUED 8
#define WALL_FLAGS 0xE0000000UL /* __WNOTHREAD, __WALL, __WCLONE: one thread per process here */
#define RUSAGE_BYTES 144

extern char ret_from_fork[];

static struct spinlock proc_lock = SPINLOCK_INIT("proc");
static union task_stack *stacks; /* MAX_PROCS of them, from mm_reserve */
static struct task *procs[MAX_PROCS];
static int next_pid = 1;
static struct task *init_task;
static struct proc_stats stats;

/* The FPU/SSE state a program starts with (FXSAVE layout): x87 control
 * word 0x37F and MXCSR 0x1F80, every exception masked, as Linux's. */
static uint8_t fpu_initial[512] __attribute__((aligned(16)));

bool proc_init(void)
{
    stacks = mm_reserve((uint64_t)MAX_PROCS * KSTACK_SIZE);
    if (!stacks) {
        kprintf("error proc=kernel_stacks procs=%u reason=out_of_memory\n", MAX_PROCS);
        return false;
    }
    fpu_initial[0] = 0x7F; /* FCW */
    fpu_initial[1] = 0x03;
    fpu_initial[24] = 0x80; /* MXCSR */
    fpu_initial[25] = 0x1F;
    return true;
}

#define MSR_EFER 0xC0000080u
#define MSR_STAR 0xC0000081u
#define MSR_LSTAR 0xC0000082u
#define MSR_FMASK 0xC0000084u
#define MSR_FS_BASE 0xC0000100u
#define MSR_KERNEL_GS_BASE 0xC0000102u
#define EFER_SCE 1u
#define CR0_MP (1UL << 1)
#define CR0_EM (1UL << 2)
#define CR0_TS (1UL << 3)
#define CR4_OSFXSR (1UL << 9)
#define CR4_OSXMMEXCPT (1UL << 10)
/* IF, TF, DF, AC and NT are cleared on entry, as Linux's FMASK does. */
#define SYSCALL_FMASK 0x47700UL

void syscall_entry(void); /* arch/isr.S */

void proc_init_cpu(void)
{
    uint64_t cr0, cr4;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" : : "r"((cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT));
    struct cpu *c = &cpus[this_cpu_id()];
    /* SYSCALL leaves RSP at the user's: the entry finds this CPU's kernel
     * stack through the kernel GS base, after a swapgs. */
    wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)&c->syscall);
    wrmsr(MSR_STAR, (uint64_t)KERNEL_CS << 32);
    wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    wrmsr(MSR_FMASK, SYSCALL_FMASK);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

void proc_switch_out(struct task *t)
{
    __asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[512])t->fpu));
}

void proc_switch_in_fs(struct task *t)
{
    wrmsr(MSR_FS_BASE, t->fs_base);
}

void proc_switch_in(struct task *t)
{
    __asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t(*)[512])t->fpu));
    proc_switch_in_fs(t);
}

/* ---- the table ------------------------------------------------------------ */

/* A free slot's task, zeroed, with a pid; NULL at the process limit. */
static struct task *alloc_task(void)
{
    spin_lock(&proc_lock);
    struct task *t = NULL;
    for (unsigned i = 0; i < MAX_PROCS; i++) {
        if (procs[i])
            continue;
        t = &stacks[i].task;
        memset(t, 0, sizeof(*t));
        t->slot = i;
        t->id = next_pid++;
        procs[i] = t;
        break;
    }
    spin_unlock(&proc_lock);
    return t;
}

static void release_slot(struct task *t)
{
    spin_lock(&proc_lock);
    procs[t->slot] = NULL;
    spin_unlock(&proc_lock);
}

/* The kernel stack of a task that has never run: its trapframe on top (what
 * ret_from_trap returns to ring 3 with), and under it the switch_to frame
 * that returns into ret_from_fork. */
static struct trapframe *prepare_stack(struct task *t)
{
    struct trapframe *tf = (struct trapframe *)((uint64_t)t + KSTACK_SIZE) - 1;
    uint64_t *sp = (uint64_t *)tf;
    *--sp = (uint64_t)ret_from_fork;
    sp -= 6; /* rbx rbp r12 r13 r14 r15, popped by switch_to */
    memset(sp, 0, 6 * sizeof(*sp));
    t->ksp = (uint64_t)sp;
    return tf;
}

static void console_files(struct task *t)
{
    for (int fd = 0; fd < 3; fd++)
        t->files[fd].kind = FILE_CONSOLE;
}

bool proc_start_init(const char *init_line)
{
    struct task *t = alloc_task();
    if (!t || !mm_create(&t->mm)) {
        kprintf("error init=start reason=out_of_memory\n");
        return false;
    }
    t->kind = TASK_PROCESS;
    t->state = TASK_RUNNABLE;
    t->cpu = this_cpu_id();
    t->line = -1;
    sched_task_defaults(t);
    console_files(t);
    memcpy(t->fpu, fpu_initial, sizeof(t->fpu));
    struct trapframe *tf = prepare_stack(t);
    memset(tf, 0, sizeof(*tf));
    long err = exec_init(t, tf, init_line);
    if (err < 0) {
        char path[64];
        size_t n = 0;
        while (init_line[n] && init_line[n] != ' ' && n < sizeof(path) - 1) {
            path[n] = init_line[n];
            n++;
        }
        path[n] = '\0';
        kprintf("error init=exec path=%s errno=%s reason=%s\n", path, errno_name(-err),
                err == -ENOENT    ? "not_in_initrd"
                : err == -ENOEXEC ? "not_a_static_x86_64_executable"
                : err == -EACCES  ? "not_a_regular_file"
                : err == -E2BIG   ? "arguments_too_long"
                                  : "out_of_memory");
        return false;
    }
    init_task = t;
    trace_event(TRACE_PROC_FORK, 0, 0, trace_task(t->id));
    sched_add(t, t->cpu);
    return true;
}

/* ---- fork ----------------------------------------------------------------- */

long proc_fork(struct trapframe *tf)
{
    struct task *parent = current();
    struct task *child = alloc_task();
    if (!child)
        return -EAGAIN;
    if (!mm_copy(&child->mm, &parent->mm)) {
        release_slot(child);
        return -ENOMEM;
    }
    child->kind = TASK_PROCESS;
    child->state = TASK_RUNNABLE;
    child->cpu = this_cpu_id();
    child->line = -1;
    sched_fork(child, parent);
    child->parent = parent;
    child->fs_base = parent->fs_base;
    child->sigmask = parent->sigmask;
    memcpy(child->files, parent->files, sizeof(child->files));
    memcpy(child->name, parent->name, sizeof(child->name));
    proc_switch_out(parent); /* the registers are the parent's live state */
    memcpy(child->fpu, parent->fpu, sizeof(child->fpu));

    /* The child returns from the same system call, with 0. */
    struct trapframe *ctf = prepare_stack(child);
    *ctf = *tf;
    ctf->rax = 0;
    __atomic_add_fetch(&stats.forks, 1, __ATOMIC_RELAXED);
    trace_event(TRACE_PROC_FORK, 0, trace_task(parent->id), trace_task(child->id));
    int pid = child->id;
    sched_add(child, child->cpu);
    return pid;
}

/* ---- exit and wait4 ------------------------------------------------------- */

__attribute__((noreturn)) void proc_exit(int wait_status)
{
    struct task *t = current();
    /* Off its own page tables before they go. */
    write_cr3(mm_kernel_cr3());
    mm_destroy(&t->mm);
    memset(t->files, 0, sizeof(t->files));

    spin_lock(&proc_lock);
    bool wake_init = false;
    for (unsigned i = 0; i < MAX_PROCS; i++) {
        struct task *c = procs[i];
        if (!c || c->parent != t)
            continue;
        c->parent = init_task; /* init reaps orphans */
        wake_init = wake_init || c->state == TASK_DEAD;
    }
    t->wait_status = wait_status;
    t->state = TASK_DEAD;
    if (t->parent && t->parent->in_wait4)
        sched_wake(t->parent, TRACE_NO_GSI);
    if (wake_init && init_task != t && init_task->in_wait4)
        sched_wake(init_task, TRACE_NO_GSI);
    spin_unlock(&proc_lock);

    __atomic_add_fetch(&stats.exits, 1, __ATOMIC_RELAXED);
    trace_event(TRACE_PROC_EXIT, (uint32_t)wait_status, trace_task(t->id), 0);
    sched_print_task(t);
    if (t == init_task) {
        /* The run's end, with init's status as vmm's: 128 + the signal
         * that killed it, as a shell reports one. */
        int code = (wait_status & 0x7F) ? 128 + (wait_status & 0x7F) : (wait_status >> 8) & 0xFF;
        sched_finish_with(code);
    }
    sched_die();
}

long proc_wait4(int64_t pid, uint64_t status, int64_t options, uint64_t rusage)
{
    if ((uint64_t)options & ~(uint64_t)(WNOHANG | WUNTRACED | WCONTINUED | WALL_FLAGS))
        return -EINVAL;
    struct task *me = current();
    if (status && !mm_user_ok(&me->mm, status, sizeof(int), true))
        return -EFAULT;
    if (rusage && !mm_user_ok(&me->mm, rusage, RUSAGE_BYTES, true))
        return -EFAULT;
    for (;;) {
        spin_lock(&proc_lock);
        bool have_children = false;
        struct task *zombie = NULL;
        for (unsigned i = 0; i < MAX_PROCS && !zombie; i++) {
            struct task *c = procs[i];
            /* pid 0 and below -1 name process groups: every child is in
             * its parent's one here. */
            if (!c || c->parent != me || (pid > 0 && c->id != pid))
                continue;
            have_children = true;
            if (c->state == TASK_DEAD)
                zombie = c;
        }
        if (zombie) {
            /* Its last switch away may still be under way on its CPU. */
            while (__atomic_load_n(&zombie->on_cpu, __ATOMIC_ACQUIRE))
                cpu_relax();
            procs[zombie->slot] = NULL;
            spin_unlock(&proc_lock);
            int reaped = zombie->id, ws = zombie->wait_status;
            __atomic_add_fetch(&stats.reaped, 1, __ATOMIC_RELAXED);
            trace_event(TRACE_PROC_WAIT, (uint32_t)ws, trace_task(me->id), trace_task(reaped));
            if (status)
                copy_to_user(status, &ws, sizeof(ws));
            if (rusage) {
                uint8_t zero[RUSAGE_BYTES];
                memset(zero, 0, sizeof(zero));
                copy_to_user(rusage, zero, sizeof(zero));
            }
            return reaped;
        }
        if (!have_children || (options & WNOHANG)) {
            spin_unlock(&proc_lock);
            return have_children ? 0 : -ECHILD;
        }
        me->in_wait4 = true;
        me->state = TASK_WAITING;
        spin_unlock(&proc_lock);
        sched_block();
        me->in_wait4 = false;
    }
}

/* ---- faults --------------------------------------------------------------- */

#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGSEGV 11

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGILL:
        return "SIGILL";
    case SIGTRAP:
        return "SIGTRAP";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    default:
        return "SIGSEGV";
    }
}

/* The signal Linux's trap handlers send for each exception from user mode
 * (arch/x86/kernel/traps.c). */
static int signal_of_vector(uint64_t vector)
{
    switch (vector) {
    case 0:  /* #DE */
    case 16: /* #MF */
    case 19: /* #XM */
        return SIGFPE;
    case 1: /* #DB */
    case 3: /* #BP */
        return SIGTRAP;
    case 6: /* #UD */
    case 7: /* #NM: no FPU state to give; cannot happen with CR0.TS clear */
        return SIGILL;
    case 11: /* #NP */
    case 12: /* #SS */
    case 17: /* #AC */
        return SIGBUS;
    default: /* #OF #BR #TS #GP #PF and the rest */
        return SIGSEGV;
    }
}

void proc_user_fault(struct trapframe *tf)
{
    struct task *t = current();
    uint64_t addr = tf->rip;
    if (tf->vector == 14) {
        addr = read_cr2();
        if (mm_fault(&t->mm, addr, tf->error & 2))
            return;
    }
    int sig = signal_of_vector(tf->vector);
    __atomic_add_fetch(&stats.killed, 1, __ATOMIC_RELAXED);
    kprintf("proc pid=%d killed signal=%s rip=0x%lx addr=0x%lx name=%s fault=%s\n", t->id,
            signal_name(sig), tf->rip, addr, t->name, exception_names[tf->vector & 31]);
    proc_exit(W_SIGNALED(sig));
}

/* ---- lookup ------------------------------------------------------------------ */

struct task *proc_find_locked(int pid)
{
    spin_lock(&proc_lock);
    if (pid == 0)
        return current();
    for (unsigned i = 0; i < MAX_PROCS; i++)
        if (procs[i] && procs[i]->id == pid && procs[i]->state != TASK_DEAD)
            return procs[i];
    spin_unlock(&proc_lock);
    return NULL;
}

void proc_unlock(void)
{
    spin_unlock(&proc_lock);
}

/* ---- the end of the run --------------------------------------------------- */

const struct proc_stats *proc_stats(void)
{
    return &stats;
}

void proc_count_exec(void)
{
    __atomic_add_fetch(&stats.execs, 1, __ATOMIC_RELAXED);
}

void proc_summary(void)
{
    unsigned live = 0, zombies = 0;
    for (unsigned i = 0; i < MAX_PROCS; i++) {
        if (!procs[i])
            continue;
        if (procs[i]->state == TASK_DEAD) {
            zombies++;
        } else {
            live++;
            sched_print_task(procs[i]); /* the exited ones printed theirs */
        }
    }
    uint64_t shared, copied;
    mm_cow_counts(&shared, &copied);
    kprintf("programs forks=%lu execs=%lu exits=%lu killed=%lu reaped=%lu live=%u zombies=%u "
            "cow_shared=%lu cow_copied=%lu free_kib=%lu\n",
            stats.forks, stats.execs, stats.exits, stats.killed, stats.reaped, live, zombies, shared,
            copied, mm_free_pages() * (PAGE_SIZE / 1024));
}
