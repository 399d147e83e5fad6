/* kernel/tick.h - time: the global jiffies, and a tick on every CPU.
 *
 * tick=pit:   the PIT's IRQ0 arrives on the boot CPU, which counts the
 *             jiffy and passes the tick on to every other CPU by IPI
 *             (Linux's tick broadcast).
 * tick=lapic: each CPU's LAPIC timer, calibrated against PIT channel 2 at
 *             boot; the boot CPU's tick advances the jiffies from the TSC.
 * Either way a CPU charges the jiffies that passed since its last tick, so
 * a late tick (a vCPU stalled) still charges the time it took. */
#pragma once

#include <stdint.h>

#include "kernel/config.h"

extern volatile uint64_t jiffies;

/* Boot CPU, after the interrupt controllers: calibrates if needed and
 * hooks the tick vectors. Returns false after an error line. */
bool tick_init(void);
/* Per CPU, when it comes online: starts its LAPIC timer (tick=lapic). */
void tick_start_cpu(void);
/* Boot CPU: starts the PIT (tick=pit). */
void tick_start(void);
/* The boot CPU's tick source has stopped; no more broadcasts. */
void tick_stop(void);
uint64_t tick_lapic_khz(void);
uint64_t tick_tsc_khz(void);

/* Ticks to milliseconds at the configured nominal rate. */
static inline uint64_t ticks_to_ms(uint64_t ticks)
{
    extern struct config cfg;
    return ticks * 1000 / cfg.hz;
}

/* Where IRQ0 arrives: through the 8259 (vector 0x20) unless set here. */
void tick_set_pit_vector(uint8_t vector, bool via_ioapic);
/* An IPI_TICK arrived on this CPU. */
void tick_ipi(void);
uint64_t tick_cpu_ticks(unsigned cpu); /* ticks charged on the CPU */
uint64_t tick_cpu_irqs(unsigned cpu);  /* tick interrupts it took */
