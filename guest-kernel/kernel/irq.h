/* kernel/irq.h - irqs=: interrupt lines a VMM scripts, through the 8259
 * pair, the IOAPIC or as MSIs, and the tasks that wait for them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "abi/lines.h"
#include "kernel/config.h"

/* Programs the IOAPIC pins and hooks the vectors; returns PIC lines to
 * unmask. `ioapic_dest`: the APIC id IOAPIC lines are sent to. */
unsigned irq_setup(uint8_t ioapic_dest);
/* The irqs= index of a line's GSI, or -1. */
int irq_line_index(uint16_t gsi);
/* Blocks the current task until the line's next interrupt; an interrupt
 * that came while the task was not waiting is not lost (a count, as a
 * semaphore: one wake-up per interrupt). */
void irq_wait(int line);
/* Interrupts the line had that no wait has taken yet. */
uint64_t irq_line_pending(int line);
void irq_summary(void);

/* bench=irq */
__attribute__((noreturn)) void bench_irq_run(void);
void irq_bench_entry(void); /* arch/isr.S */
extern volatile uint16_t irq_bench_gsi;
extern volatile uint64_t irq_bench_vector;
