/* pit.c - 8254 channel 0 as the periodic tick; channel 2 (gate and OUT
 * through port 0x61) as the one-shot that Linux calibrates the TSC with. */
#include "drivers/pit.h"

#include "arch/x86.h"

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_61 0x61
#define P61_GATE2 0x01
#define P61_SPEAKER 0x02
#define P61_OUT2 0x20

uint32_t pit_divisor(uint32_t hz)
{
    uint32_t div = (PIT_HZ + hz / 2) / hz;
    /* Below ~18.2 Hz the divisor no longer fits 16 bits; the slowest rate
     * the PIT has is 65536 (programmed as 0). */
    return div > 0xFFFF ? 0x10000 : div;
}

void pit_init(uint32_t hz)
{
    uint32_t div = pit_divisor(hz) & 0xFFFF;
    outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
    outb(PIT_CH0, div & 0xFF);
    outb(PIT_CH0, (div >> 8) & 0xFF);
}

void pit2_gate_on(void)
{
    outb(PORT_61, (uint8_t)((inb(PORT_61) & ~P61_SPEAKER) | P61_GATE2));
}

void pit2_gate_off(void)
{
    outb(PORT_61, (uint8_t)(inb(PORT_61) & ~(P61_SPEAKER | P61_GATE2)));
}

void pit2_oneshot(uint16_t count)
{
    outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH2, count & 0xFF);
    outb(PIT_CH2, count >> 8);
}

bool pit2_out(void)
{
    return inb(PORT_61) & P61_OUT2;
}

/* arch/x86/kernel/tsc.c pit_calibrate_tsc(CAL2_LATCH, CAL2_MS, ...): gate
 * on, speaker off, channel 2 mode 0 with a 50 ms count, then poll port 0x61
 * until OUT2 rises, reading the TSC after every poll that saw it low; the
 * TSC delta from programming to the last low poll is the measurement.
 * Linux divides it by 50 ms; here the exact period of the count
 * (59659 / 1193182 s) is used. Bounded by max_cycles of TSC and by a poll
 * count, in case OUT2 never rises.
 *
 * Besides Linux's numbers, two extra TSC reads (before the count's MSB
 * write, after the first poll that saw OUT2 high) bound the true interval:
 * `window` is how far Linux's delta can be off. A vCPU that stalls at
 * either end (the KVM this project runs on stalls ring-0 code for
 * milliseconds at a time) shows up there. */
static void calibrate_once(struct pit_cal *c, uint64_t max_cycles)
{
    const uint64_t max_polls = 4000000;

    pit2_gate_on();
    outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH2, PIT_LATCH_50MS & 0xFF);
    uint64_t t0 = rdtsc();
    outb(PIT_CH2, PIT_LATCH_50MS >> 8);
    uint64_t t1 = rdtsc(), t2 = t1, prev = t1, before_last = t0;
    uint8_t v = inb(PORT_61);

    c->out_initial = (v & P61_OUT2) ? 1 : 0;
    c->polls = 0;
    while (!(v & P61_OUT2)) {
        t2 = rdtsc();
        before_last = prev;
        prev = t2;
        c->polls++;
        if (t2 - t1 > max_cycles || c->polls > max_polls)
            break;
        v = inb(PORT_61);
    }
    uint64_t t3 = rdtsc();
    c->out_final = (v & P61_OUT2) ? 1 : 0;
    c->cycles = t2 - t1;
    /* The count started in (t0, t1); OUT2 rose after the last low poll
     * began (> before_last) and before the first high one ended (< t3). */
    c->window = (t1 - t0) + (t3 - before_last);
    c->ok = !c->out_initial && c->out_final && c->cycles;
    c->tsc_khz = c->ok ? c->cycles * PIT_HZ / ((uint64_t)PIT_LATCH_50MS * 1000) : 0;
}

/* Up to `attempts` runs (Linux's slow calibration also tries three times),
 * stopping at the first whose window is below 0.2 %; the result is the run
 * with the narrowest window. ok only if OUT2 behaved in every run. */
void pit_calibrate_tsc(struct pit_cal *c, uint64_t max_cycles, unsigned attempts)
{
    struct pit_cal best = { 0 }, run;
    uint64_t polls = 0;
    bool all_ok = true;

    for (unsigned i = 0; i < attempts; i++) {
        calibrate_once(&run, max_cycles);
        polls += run.polls;
        if (!run.ok) {
            all_ok = false;
            best = run;
            break;
        }
        if (i == 0 || run.window < best.window)
            best = run;
        if (run.window * 500 < run.cycles)
            break;
    }
    *c = best;
    c->ok = all_ok;
    c->polls = polls;
}

void pit_delay_us(uint32_t us)
{
    uint64_t count = (uint64_t)us * PIT_HZ / 1000000;
    if (count < 2)
        count = 2;
    if (count > 0xFFFF)
        count = 0xFFFF;
    pit2_gate_on();
    pit2_oneshot((uint16_t)count);
    /* Mode 0: OUT2 goes high when the count reaches zero. Bounded in case
     * no PIT answers (port 0x61 reads 0xFF then, with OUT2 high). */
    for (uint32_t polls = 0; !pit2_out() && polls < 10000000; polls++)
        ;
    pit2_gate_off();
}
