/* bench_ipi.c - bench=ipi: the round trip of an IPI from CPU 0 to CPU 1
 * and back, timed in the guest with the TSC; one result line.
 *
 * CPU 0 sends IPI_BENCH_VECTOR to CPU 1, whose handler EOIs and sends the
 * same vector back; CPU 0's handler reads the TSC, then EOIs. A round is
 * timed from just before CPU 0's ICR write to that TSC read. CPU 1 waits
 * in its idle loop's hlt between rounds, and CPU 0 in sti; hlt
 * (bench_wait=hlt) or polling a flag with interrupts on (bench_wait=spin),
 * so a round trip includes waking a halted vCPU on one side or on both:
 * what an IPI costs a kernel in practice. It runs after the APs are up,
 * with no tasks and no tick (nothing else interrupts either CPU). The
 * rounds go into a histogram of fixed bins, as bench=pit's ticks do: no
 * sorting of 10,000 values in ring 0. The bins are 0.5 us wide, enough
 * for round trips of tens of microseconds and up, so that a host busy
 * elsewhere for milliseconds still has its p99 inside the histogram. */
#include "arch/cpu.h"
#include "arch/lapic.h"
#include "arch/x86.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/sched.h"
#include "kernel/trap.h"
#include "lib/histogram.h"
#include "modes/modes.h"

#define BIN_TENTHS 5 /* of a microsecond: bins up to 32.8 ms, then the overflow count */
#define WARMUP_ROUNDS 16

static struct histogram hist;
static uint64_t min_cycles = ~0ull, max_cycles;
static uint64_t khz;
static volatile bool replied;
static volatile uint64_t reply_tsc;


/* On CPU 1: answer. On CPU 0: the answer came. */
static void bench_ipi_interrupt(unsigned vector)
{
    (void)vector;
    if (this_cpu_id() == 0) {
        reply_tsc = rdtsc();
        lapic_eoi();
        replied = true;
        return;
    }
    lapic_eoi();
    lapic_send_ipi(cpus[0].apic_id, IPI_BENCH_VECTOR);
}

static uint64_t round_trip(uint8_t peer, bool spin)
{
    replied = false;
    uint64_t start = rdtsc();
    lapic_send_ipi(peer, IPI_BENCH_VECTOR);
    if (spin) {
        __asm__ volatile("sti" ::: "memory");
        while (!replied)
            cpu_relax();
        __asm__ volatile("cli" ::: "memory");
    } else {
        while (!replied)
            wait_for_interrupt();
    }
    return reply_tsc - start;
}

__attribute__((noreturn)) void bench_ipi_run(unsigned online)
{
    console_sync(); /* polled output from here on */
    if (online < 2 || !cpus[1].online) {
        kprintf("error bench=ipi reason=needs_two_cpus cpus=%u\n", online);
        kernel_exit(EXIT_SELFTEST_FAILED);
    }
    khz = cfg.tsc_khz;
    if (!khz) {
        struct lapic_cal cal;
        lapic_calibrate(&cal);
        if (!cal.ok) {
            kprintf("error bench=ipi reason=tsc_calibration\n");
            kernel_exit(EXIT_SELFTEST_FAILED);
        }
        khz = cal.tsc_khz;
    }
    trap_set_handler(IPI_BENCH_VECTOR, bench_ipi_interrupt);
    histogram_init(&hist, BIN_TENTHS);
    uint8_t peer = cpus[1].apic_id;
    bool spin = cfg.bench_wait == WAIT_SPIN;

    for (unsigned i = 0; i < WARMUP_ROUNDS; i++)
        round_trip(peer, spin);
    for (uint32_t i = 0; i < cfg.bench_rounds; i++) {
        uint64_t d = round_trip(peer, spin);
        if (d < min_cycles)
            min_cycles = d;
        if (d > max_cycles)
            max_cycles = d;
        histogram_add(&hist, cycles_to_tenths(d, khz));
    }

    uint64_t p50 = histogram_percentile(&hist, cfg.bench_rounds, 50),
             p99 = histogram_percentile(&hist, cfg.bench_rounds, 99);
    uint64_t mn = cycles_to_tenths(min_cycles, khz), mx = cycles_to_tenths(max_cycles, khz);
    kprintf("bench ipi rounds=%u wait=%s tsc_khz=%lu p50_us=%lu.%lu p99_us=%lu.%lu min_us=%lu.%lu "
            "max_us=%lu.%lu overflow=%lu\n",
            cfg.bench_rounds, bench_wait_name(cfg.bench_wait), khz, p50 / 10, p50 % 10, p99 / 10,
            p99 % 10, mn / 10, mn % 10, mx / 10, mx % 10, hist.overflow);
    kernel_exit(EXIT_OK);
}
