/* modes/modes.h - what the kernel can run instead of its tasks: selftest,
 * the benchmarks and echo. Each runs on the boot CPU alone, but bench=ipi,
 * which kmain starts once the APs are up. */
#pragma once

#include <stdint.h>

__attribute__((noreturn)) void selftest_run(void);
__attribute__((noreturn)) void bench_pit_run(void);
__attribute__((noreturn)) void bench_serial_run(void);
__attribute__((noreturn)) void bench_serial_done(long code);
__attribute__((noreturn)) void echo_run(void);
/* `online`: the CPUs smp_boot_aps brought up (it needs two). */
__attribute__((noreturn)) void bench_ipi_run(unsigned online);
extern volatile uint64_t irq0_tsc; /* written by irq0_tsc_entry (arch/isr.S) */
void irq0_tsc_entry(void);
/* smptest=N: every CPU takes one spinlock N times and bumps counters under
 * it and with atomic adds; the totals must come out exact. */
__attribute__((noreturn)) void smptest_run(unsigned online);
void smptest_cpu(void); /* an AP's part; returns when done */
/* IRQ0 goes here when set (special modes), instead of the tick. */
extern void (*irq0_hook)(void);
