/* ipi.c - inter-processor interrupts, one vector per kind, each sent at
 * most once until the target has taken it (see ipi.h). */
#include "kernel/ipi.h"

#include "arch/cpu.h"
#include "arch/lapic.h"
#include "kernel/sched.h"
#include "kernel/tick.h"
#include "kernel/trap.h"

static const uint8_t vector_of[IPI_KINDS] = { IPI_TICK_VECTOR, IPI_RESCHED_VECTOR, IPI_STOP_VECTOR };

static struct {
    volatile uint32_t pending[IPI_KINDS];
    struct ipi_stats stats; /* written by the CPU itself only */
} ipis[MAX_CPUS];

bool ipi_send(unsigned cpu, enum ipi_kind kind)
{
    if (__atomic_exchange_n(&ipis[cpu].pending[kind], 1, __ATOMIC_ACQ_REL))
        return false;
    lapic_send_ipi(cpus[cpu].apic_id, vector_of[kind]);
    ipis[this_cpu_id()].stats.sent++;
    return true;
}

bool ipi_none_pending(unsigned cpu)
{
    for (unsigned k = 0; k < IPI_KINDS; k++)
        if (__atomic_load_n(&ipis[cpu].pending[k], __ATOMIC_ACQUIRE))
            return false;
    return true;
}

const struct ipi_stats *ipi_stats(unsigned cpu)
{
    return &ipis[cpu].stats;
}

static void ipi_interrupt(unsigned vector)
{
    unsigned me = this_cpu_id();
    enum ipi_kind kind = (enum ipi_kind)(vector - IPI_TICK_VECTOR);
    /* Cleared before the EOI: a sender that sees it clear sends a new IPI,
     * which waits in the IRR until this handler returns. */
    __atomic_store_n(&ipis[me].pending[kind], 0, __ATOMIC_RELEASE);
    ipis[me].stats.received++;
    ipis[me].stats.received_kind[kind]++;
    lapic_eoi();
    switch (kind) {
    case IPI_TICK:
        tick_ipi();
        break;
    case IPI_RESCHED:
        sched_resched_ipi();
        break;
    case IPI_STOP:
        sched_park_cpu();
    default:
        break;
    }
}

void ipi_init(void)
{
    for (unsigned k = 0; k < IPI_KINDS; k++)
        trap_set_handler(vector_of[k], ipi_interrupt);
}
