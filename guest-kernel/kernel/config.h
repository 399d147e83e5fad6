/* kernel/config.h - the kernel's options, from the Multiboot command line
 * (kernel/cmdline.c; documented in README.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/console.h"
#include "user/abi.h"

enum crash_mode { CRASH_NONE, CRASH_UD, CRASH_PF, CRASH_GP, CRASH_USER, CRASH_TRIPLE, CRASH_SYSCALL };
enum nmi_mode { NMI_COUNT, NMI_FINISH };
enum exit_via { EXIT_VIA_DEBUG, EXIT_VIA_ACPI }; /* how a successful run ends the VM */
enum bench_mode { BENCH_NONE, BENCH_PIT, BENCH_SERIAL, BENCH_IRQ, BENCH_IPI };
enum bench_wait { WAIT_HLT, WAIT_SPIN }; /* bench=ipi: how CPU 0 waits for the answer */
enum intc_mode { INTC_PIC, INTC_IOAPIC };
enum tick_mode { TICK_PIT, TICK_LAPIC };
enum placement_mode { PLACE_SPREAD, PLACE_CPU0 };
/* sched=: round-robin with equal slices, or Linux 2.6's O(1) scheduler. */
enum sched_mode { SCHED_MODE_RR, SCHED_MODE_O1 };
/* What the kernel does after boot: run tasks (default) or one of the
 * special modes, which are mutually exclusive. */
enum run_mode {
    MODE_TASKS,
    MODE_SELFTEST,
    MODE_BENCH_PIT,
    MODE_BENCH_SERIAL,
    MODE_ECHO,
    MODE_BENCH_IRQ,
    MODE_BENCH_IPI,
    MODE_SMPTEST
};

/* irqs=: scripted interrupt lines (irq.c). */
#define MAX_IRQS 8
#define MAX_TOKEN_IRQS 64 /* irqs= text kept for the config line */
enum irq_via { VIA_PIC, VIA_IOAPIC, VIA_MSI };
struct irq_line {
    uint16_t gsi;
    uint8_t level;  /* :level given */
    uint8_t msi;    /* :msiVEC given; vector = VEC */
    uint8_t vector; /* filled in by irq_validate() */
    uint8_t via;    /* enum irq_via, filled in by irq_validate() */
    uint64_t count;    /* handler runs that found the device's interrupt pending */
    uint64_t spurious; /* handler runs that found nothing pending */
};

struct config {
    uint32_t tasks;
    uint32_t quantum_ms;
    uint32_t hz;
    uint32_t runtime_ms;
    uint32_t progress_ms;
    uint32_t task_ms;
    enum uart_mode uart;
    enum crash_mode crash;
    enum nmi_mode nmi; /* finish: an NMI ends the run as runtime_ms would */
    enum exit_via exit_via;
    uint32_t selftest;   /* 0, 1 (device probes), 2 (CPU instruction probes) */
    enum bench_mode bench;
    uint32_t bench_ms;
    uint32_t bench_bytes;
    uint32_t bench_rounds; /* bench=ipi */
    enum bench_wait bench_wait;
    uint32_t tsc_khz;    /* 0: calibrate with the PIT */
    uint32_t echo;       /* bytes to receive; 0: off */
    uint32_t echo_lines; /* 0/1 */
    enum intc_mode intc;
    enum tick_mode tick;
    enum placement_mode placement;
    uint32_t nwaiters;
    uint16_t waiter_gsi[MAX_TASKS]; /* waiters=: the irqs= line of each */
    uint32_t wake_log;       /* print every Nth wake-up of a waiter; 0: none */
    uint32_t sleepers;       /* tasks that sleep nap_ms at a time, for ever */
    uint32_t nap_ms;
    uint32_t wake_mark;      /* 0/1: waiters write their GSI to WAKE_MARK_PORT on waking */
    uint32_t mptable_corrupt; /* 0/1: test the table checks on a damaged copy */
    uint32_t smptest;         /* rounds of the lock test per CPU; 0: off */
    uint32_t nirqs;
    struct irq_line irqs[MAX_IRQS];
    char init[256];      /* init=: the program (from the initrd) and its arguments; "": none */
    bool quiet;          /* kprintf keeps only error, warn, exception and proc lines */
    bool tasks_given, runtime_given;
    enum sched_mode sched;
    bool sched_given;
    /* Derived from the above once parsing succeeded. */
    uint32_t quantum_ticks;
    uint64_t runtime_ticks;
    enum run_mode mode;
};

extern struct config cfg;

void config_defaults(struct config *c);
/* Returns false after printing an error line. */
bool config_parse(struct config *c, const char *cmdline);
/* Prints `error option=K value=V reason=R`; returns false. */
bool parse_error(const char *k, size_t kn, const char *v, size_t vn, const char *reason);
void config_print(const struct config *c);
const char *uart_mode_name(enum uart_mode m);
const char *crash_mode_name(enum crash_mode m);
const char *nmi_mode_name(enum nmi_mode m);
const char *bench_mode_name(enum bench_mode m);
const char *bench_wait_name(enum bench_wait w);
const char *intc_mode_name(enum intc_mode m);
const char *tick_mode_name(enum tick_mode m);
const char *sched_mode_name(enum sched_mode m);

/* irqs= parsing and checks (kernel/irq.c). */
bool irq_parse(struct config *c, const char *v, size_t vn); /* false: error printed */
bool irq_validate(struct config *c);                         /* false: error printed */
void irq_print_config(const struct config *c);
