/* traps.c - what happens to each vector after isr.S saved the registers. */
#include "kernel.h"

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "RSVD", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    "RSVD", "RSVD", "RSVD", "RSVD", "RSVD", "RSVD", "#HV", "#VC", "#SX", "RSVD",
};

void (*irq0_hook)(void);

static uint64_t spurious;
static uint64_t nmis;

/* Every CPU exception but NMI is fatal: report it and end the run with code 3. */
__attribute__((noreturn)) static void exception(struct trapframe *tf)
{
    static bool reporting;
    if (reporting) { /* faulted while reporting: just stop */
        outb(0xF4, EXIT_EXCEPTION);
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    reporting = true;

    uint64_t cr2 = tf->vector == 14 ? read_cr2() : 0;
    console_sync();
    kprintf("exception vector=%lu name=%s error=0x%lx rip=0x%lx cs=0x%lx rsp=0x%lx cr2=0x%lx "
            "mode=%s\n",
            tf->vector, exception_names[tf->vector], tf->error, tf->rip, tf->cs, tf->rsp, cr2,
            (tf->cs & 3) ? "user" : "kernel");
    kernel_exit(EXIT_EXCEPTION);
}

/* IRQs other than 0, 4 and the irqs= lines are masked; count whatever
 * arrives anyway (also spurious IRQ7/IRQ15 on an irqs= line). */
static void other_irq(unsigned irq)
{
    spurious++;
    if (pic_is_spurious(irq)) {
        if (irq == 15) /* the master saw a real IRQ2 from the slave */
            pic_eoi(0);
        return;
    }
    pic_eoi(irq);
}

void trap(struct trapframe *tf)
{
    uint64_t v = tf->vector;

    if (v == IRQ_BASE + IRQ_TIMER) {
        if (irq0_hook)
            irq0_hook();
        else
            sched_tick();
    } else if (irq_line_of_vector[v] && irq_dispatch((unsigned)v))
        ; /* an irqs= line */
    else if (v == SYSCALL_VECTOR)
        syscall_dispatch(tf);
    else if (v == IRQ_BASE + IRQ_COM1) {
        console_irq();
        pic_eoi(IRQ_COM1);
    } else if (v == 2)
        nmis++; /* an injected NMI is an event to count, not a crash */
    else if (v == 6 && syscall_from_ud(tf))
        ; /* int $0x80 that our KVM turned into #UD: see syscall.c */
    else if (v < 32)
        exception(tf);
    else if (v < IRQ_BASE + 16)
        other_irq((unsigned)(v - IRQ_BASE));
    else
        spurious++;

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
