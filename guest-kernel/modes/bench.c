/* bench.c - bench=pit and bench=serial: guests that measure the VMM and
 * print one machine-readable result line.
 *
 * bench=pit: no tasks. IRQ0 enters through irq0_tsc_entry (isr.S), which
 * reads the TSC before anything else; the handler files the interval since
 * the previous tick into a histogram (fixed bins, no sorting in ring 0)
 * and the kernel idles in sti; hlt between ticks.
 *
 * bench=serial: one ring-3 task builds the payload and writes it through
 * write(), so it takes the console path chosen by uart= (polled, or the
 * TX ring drained by the THRE interrupt). */
#include "modes/modes.h"

#include "arch/idt.h"
#include "arch/pic.h"
#include "arch/x86.h"
#include "drivers/pit.h"
#include "drivers/uart.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/sched.h"
#include "kernel/tick.h"
#include "kernel/trap.h"
#include "lib/histogram.h"
#include "lib/string.h"

volatile uint64_t irq0_tsc;

/* a * b / c with a 128-bit intermediate; the quotient must fit 64 bits. */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t q, r;
    __asm__("mulq %[b]\n\tdivq %[c]" : "=a"(q), "=&d"(r) : "a"(a), [b] "r"(b), [c] "r"(c) : "cc");
    (void)r;
    return q;
}

/* ---- bench=pit -------------------------------------------------------- */

#define WARMUP_TICKS 2 /* the first ticks after programming may be stale */

static struct histogram hist; /* intervals between ticks */
static uint64_t khz;
static uint64_t warmup = WARMUP_TICKS;
static uint64_t nticks; /* timestamps recorded */
static uint64_t target; /* timestamps to record: intervals + 1 */
static uint64_t first_tsc, last_tsc;
static uint64_t min_delta = ~0ull, max_delta;


__attribute__((noreturn)) static void bench_pit_finish(void)
{
    uint64_t intervals = nticks - 1;
    uint64_t elapsed = last_tsc - first_tsc;
    uint32_t div = pit_divisor(cfg.hz);

    console_sync();
    /* rate_ppm = (measured rate / hz - 1) * 1e6, measured rate =
     * intervals / (elapsed / tsc_hz); pit_ppm the same against the rate
     * the divisor really gives, PIT_HZ / div. */
    int64_t want = (int64_t)muldiv(intervals * 1000, khz, cfg.hz);
    int64_t want_pit = (int64_t)muldiv(intervals * div, khz * 1000, PIT_HZ);
    int64_t diff = want - (int64_t)elapsed, diff_pit = want_pit - (int64_t)elapsed;
    int64_t ppm = diff * 1000000 / (int64_t)elapsed;
    int64_t pit_ppm = diff_pit * 1000000 / (int64_t)elapsed;
    uint64_t p50 = histogram_percentile(&hist, intervals, 50), p99 = histogram_percentile(&hist, intervals, 99);
    uint64_t mx = cycles_to_tenths(max_delta, khz), mn = cycles_to_tenths(min_delta, khz);

    kprintf("bench pit ticks=%lu hz=%u tsc_khz=%lu elapsed_tsc=%lu rate_ppm=%s%ld "
            "p50_us=%lu.%lu p99_us=%lu.%lu max_us=%lu.%lu first_tsc=%lu last_tsc=%lu "
            "min_us=%lu.%lu div=%u pit_ppm=%s%ld overflow=%lu\n",
            nticks, cfg.hz, khz, elapsed, ppm >= 0 ? "+" : "", ppm, p50 / 10, p50 % 10, p99 / 10,
            p99 % 10, mx / 10, mx % 10, first_tsc, last_tsc, mn / 10, mn % 10, div,
            pit_ppm >= 0 ? "+" : "", pit_ppm, hist.overflow);
    kernel_exit(EXIT_OK);
}

static void bench_pit_tick(void)
{
    uint64_t now = irq0_tsc;

    pic_eoi(IRQ_PIT);
    if (warmup) {
        warmup--;
        return;
    }
    if (nticks) {
        uint64_t d = now - last_tsc;
        if (d > max_delta)
            max_delta = d;
        if (d < min_delta)
            min_delta = d;
        histogram_add(&hist, cycles_to_tenths(d, khz));
    } else {
        first_tsc = now;
    }
    last_tsc = now;
    if (++nticks >= target)
        bench_pit_finish();
}

__attribute__((noreturn)) void bench_pit_run(void)
{
    __asm__ volatile("cli");
    khz = cfg.tsc_khz;
    if (!khz) {
        struct pit_cal cal;
        pit_calibrate_tsc(&cal, 20000000000ull, 3);
        if (!cal.ok) {
            kprintf("error bench=pit reason=tsc_calibration polls=%lu\n", cal.polls);
            kernel_exit(EXIT_SELFTEST_FAILED);
        }
        khz = cal.tsc_khz;
    }
    uint64_t intervals = ((uint64_t)cfg.bench_ms * cfg.hz + 500) / 1000;
    target = (intervals ? intervals : 1) + 1;
    /* Bins of 0.1 us, wider when 4 nominal intervals would not fit. */
    uint64_t span = 4 * (10000000ull / cfg.hz);
    histogram_init(&hist, (span + HISTOGRAM_BINS - 1) / HISTOGRAM_BINS);

    idt_set_handler(IRQ_BASE + IRQ_PIT, irq0_tsc_entry);
    irq0_hook = bench_pit_tick;
    pic_init(PIC_UNMASK(IRQ_PIT));
    pit_init(cfg.hz);
    for (;;)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* ---- bench=serial ----------------------------------------------------- */

static uint64_t serial_start;

__attribute__((noreturn)) void bench_serial_run(void)
{
    cfg.runtime_ticks = 0; /* runs until the task is done */
    sched_init_custom(1, user_bench_serial_main, (long)cfg.bench_bytes);
    tick_init(); /* tick=pit through the 8259, as kmain leaves it */
    pic_init(PIC_UNMASK(IRQ_PIT) | PIC_UNMASK(IRQ_COM1));
    kprintf("bench serial start\n");
    serial_start = rdtsc();
    tick_start();
    sched_run_cpu();
}

/* From the task's exit(): everything is out once console_sync() returns. */
__attribute__((noreturn)) void bench_serial_done(long code)
{
    console_sync();
    uart_wait_idle();
    uint64_t cycles = rdtsc() - serial_start;
    kprintf("bench serial done bytes=%u tsc=%lu uart_stalls=%lu\n", cfg.bench_bytes, cycles,
            console_stalls());
    kernel_exit(code ? EXIT_TASK_FAILED : EXIT_OK);
}
