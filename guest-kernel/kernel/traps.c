/* traps.c - what happens to each vector after isr.S saved the registers. */
#include "kernel/trap.h"

#include "arch/lapic.h"
#include "arch/pic.h"
#include "arch/x86.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/linux.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/trace.h"
#include "modes/modes.h"

const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "RSVD", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    "RSVD", "RSVD", "RSVD", "RSVD", "RSVD", "RSVD", "#HV", "#VC", "#SX", "RSVD",
};

void (*irq0_hook)(void);

static irq_handler_t handlers[256];
static volatile uint64_t spurious;
static volatile uint64_t nmis;

void trap_set_handler(unsigned vector, irq_handler_t h)
{
    handlers[vector] = h;
}

/* Every CPU exception but NMI is fatal: report it and end the run with code 3. */
__attribute__((noreturn)) static void exception(struct trapframe *tf)
{
    static volatile uint32_t reporting;
    if (__atomic_exchange_n(&reporting, 1, __ATOMIC_SEQ_CST)) { /* faulted while reporting */
        outb(DEBUG_EXIT_PORT, EXIT_EXCEPTION);
        for (;;)
            __asm__ volatile("cli; hlt");
    }

    uint64_t cr2 = tf->vector == 14 ? read_cr2() : 0;
    console_sync();
    kprintf("exception vector=%lu name=%s error=0x%lx rip=0x%lx cs=0x%lx rsp=0x%lx cr2=0x%lx "
            "mode=%s cpu=%u\n",
            tf->vector, exception_names[tf->vector], tf->error, tf->rip, tf->cs, tf->rsp, cr2,
            (tf->cs & 3) ? "user" : "kernel", this_cpu_id());
    kernel_exit(EXIT_EXCEPTION);
}

/* 8259 lines nobody claimed are masked; count whatever arrives anyway
 * (also spurious IRQ7/IRQ15). */
static void other_irq(unsigned irq)
{
    __atomic_add_fetch(&spurious, 1, __ATOMIC_RELAXED);
    if (pic_is_spurious(irq)) {
        if (irq == 15) /* the master saw a real IRQ2 from the slave */
            pic_eoi(0);
        return;
    }
    pic_eoi(irq);
}

/* Interrupts, for the trace: every vector from 32 up but the system call's. */
static bool traced_irq(uint64_t v)
{
    return v >= 32 && v != SYSCALL_VECTOR && v != SYSCALL64_VECTOR;
}

void trap(struct trapframe *tf)
{
    uint64_t v = tf->vector;

    if (tracing() && traced_irq(v))
        trace_record(TRACE_IRQ_ENTRY, (uint32_t)v, trace_vector_gsi((unsigned)v),
                     trace_task(current()->id));
    if (v == SYSCALL64_VECTOR)
        linux_syscall(tf);
    else if (v == 2)
        __atomic_add_fetch(&nmis, 1, __ATOMIC_RELAXED); /* an injected NMI is an event to count */
    else if (v == 6 && syscall_from_ud(tf))
        ; /* int $0x80 that our KVM turned into #UD: see syscall.c */
    else if (v < 32 && (tf->cs & 3) == 3 && current()->kind == TASK_PROCESS)
        proc_user_fault(tf); /* kills the process, or faults in a lazy page */
    else if (v < 32)
        exception(tf);
    else if (v == SYSCALL_VECTOR)
        syscall_dispatch(tf);
    else if (v == IRQ_BASE && irq0_hook)
        irq0_hook();
    else if (handlers[v])
        handlers[v]((unsigned)v);
    else if (v < IRQ_BASE + 16)
        other_irq((unsigned)(v - IRQ_BASE));
    else {
        __atomic_add_fetch(&spurious, 1, __ATOMIC_RELAXED);
        /* A vector from the LAPIC nobody asked for still holds its ISR bit,
         * and with it every lower vector, until an EOI. */
        if (v != LAPIC_SPURIOUS_VECTOR)
            lapic_eoi();
    }

    /* Before any switch below: on the host, a CPU's interrupt spans nest. */
    if (tracing() && traced_irq(v))
        trace_record(TRACE_IRQ_EXIT, (uint32_t)v, 0, 0);
    if ((tf->cs & 3) == 3)
        sched_return_to_user();
}

uint64_t trap_spurious_count(void)
{
    return spurious;
}

uint64_t trap_nmi_count(void)
{
    return nmis;
}
