/* kernel/ipi.h - inter-processor interrupts with exactly-once accounting.
 *
 * Each kind has its own vector and, per target CPU, a pending flag. A
 * sender sets the flag and sends only if it was clear; the handler clears
 * it first thing. So two IPIs of a kind are never pending at once in the
 * target's IRR (where the second would merge into the first and be lost),
 * every IPI sent is received, and the sum of ipi_sent equals the sum of
 * ipi_received once the run is over. Linux does the same for reschedule
 * IPIs (none while TIF_NEED_RESCHED is already set). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum ipi_kind { IPI_TICK, IPI_RESCHED, IPI_STOP, IPI_KINDS };

struct ipi_stats {
    uint64_t sent;     /* by this CPU, all kinds */
    uint64_t received; /* by this CPU, all kinds */
    uint64_t received_kind[IPI_KINDS];
};

void ipi_init(void); /* hooks the vectors */
/* True if an IPI was sent (false: one of that kind is already pending). */
bool ipi_send(unsigned cpu, enum ipi_kind kind);
/* All of this CPU's IPIs have been handled. */
bool ipi_none_pending(unsigned cpu);
const struct ipi_stats *ipi_stats(unsigned cpu);
