/* selftest.c - selftest=1: the probes Linux runs against a PC's 16550A and
 * 8254, replayed from inside the guest, one report line per probe.
 *
 * The sequences follow Linux: drivers/tty/serial/8250/8250_port.c
 * (autoconfig(), autoconfig_8250(), autoconfig_16550a(), size_fifo(),
 * serial8250_startup()) and arch/x86/kernel/tsc.c (pit_calibrate_tsc(),
 * quick_pit_calibrate(), pit_expect_msb()). Every line reports facts about
 * the device (register values, the detected type) under their own keys;
 * values that depend on the host's speed use the measurement keys polls,
 * cycles, tsc_khz, irqs and delta, so that two VMMs emulating the same
 * devices give the same report once those are set aside.
 *
 * The probes run with interrupts off at the CPU (as Linux holds the port
 * lock with interrupts disabled), except pit_mode2_irq0, which needs the
 * tick. The console is polled throughout and the transmitter is idle
 * whenever a probe touches the UART: the probes switch it to loopback and
 * play with IER, FCR and LCR. */
#include "modes/modes.h"

#include "arch/cpu.h"
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
#include "lib/string.h"

static unsigned passed, failed;

static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

__attribute__((format(printf, 3, 4))) static void report(const char *probe, bool pass,
                                                         const char *fmt, ...)
{
    va_list ap;
    if (pass)
        passed++;
    else
        failed++;
    kprintf("selftest probe=%s result=%s ", probe, pass ? "pass" : "fail");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    uart_wait_idle(); /* the next probe may switch the UART to loopback */
}

/* Linux waits a microsecond here and there ("allow register changes to
 * become visible"); reads of the scratch register take that long and have
 * no side effects. */
static void short_delay(void)
{
    for (int i = 0; i < 2; i++)
        (void)uart_in(UART_SCR);
}

/* ---- 16550A ----------------------------------------------------------- */

/* autoconfig_8250(): the scratch register holds what was written. */
static bool scratch_holds_values(uint8_t *s1, uint8_t *s2)
{
    uint8_t save = uart_in(UART_SCR);
    uart_out(UART_SCR, 0xA5);
    *s1 = uart_in(UART_SCR);
    uart_out(UART_SCR, 0x5A);
    *s2 = uart_in(UART_SCR);
    uart_out(UART_SCR, save);
    return *s1 == 0xA5 && *s2 == 0x5A;
}

static void probe_uart_scratch(void)
{
    uint8_t s1, s2;
    bool ok = scratch_holds_values(&s1, &s2);
    report("uart_scratch", ok, "scr1=0x%x scr=0x%x", s1, s2);
}

/* autoconfig(): the existence test on IER[3:0]. */
static void probe_uart_ier(void)
{
    uint8_t save = uart_in(UART_IER);
    uart_out(UART_IER, 0);
    uint8_t zero = uart_in(UART_IER) & 0x0F;
    uart_out(UART_IER, 0x0F);
    uint8_t set = uart_in(UART_IER) & 0x0F;
    uart_out(UART_IER, save);
    report("uart_ier", zero == 0 && set == 0x0F, "ier_zero=0x%x ier_set=0x%x", zero, set);
}

/* autoconfig(): loopback with RTS and OUT2 must read back as CTS and DCD. */
static void probe_uart_loopback(void)
{
    uint8_t save = uart_in(UART_MCR);
    uart_out(UART_MCR, 0x10 | 0x08 | 0x02); /* LOOP | OUT2 | RTS */
    uint8_t msr = uart_in(UART_MSR) & 0xF0;
    uart_out(UART_MCR, save);
    report("uart_loopback", msr == 0x90, "msr=0x%x", msr);
}

/* size_fifo(): in loopback at the fastest rate, send 256 bytes and count
 * how many the receive FIFO kept. */
static unsigned size_fifo(void)
{
    uint8_t old_lcr = uart_in(UART_LCR);
    uart_out(UART_LCR, 0);
    uint8_t old_fcr = uart_in(UART_FCR); /* reads IIR, as in Linux */
    uint8_t old_mcr = uart_in(UART_MCR);
    uart_out(UART_FCR, 0x01 | 0x02 | 0x04); /* enable, clear RX and TX */
    uart_out(UART_MCR, 0x10);               /* LOOP */
    uart_out(UART_LCR, 0x80);
    uint8_t old_dll = uart_in(UART_DLL), old_dlm = uart_in(UART_DLM);
    uart_out(UART_DLL, 1);
    uart_out(UART_DLM, 0);
    uart_out(UART_LCR, 0x03);
    for (unsigned i = 0; i < 256; i++)
        uart_out(UART_THR, (uint8_t)i);
    short_delay(); /* Linux: mdelay(20); our line has no transmit time */
    unsigned count = 0;
    while ((uart_in(UART_LSR) & UART_LSR_DR) && count < 256) {
        (void)uart_in(UART_RBR);
        count++;
    }
    uart_out(UART_FCR, old_fcr);
    uart_out(UART_MCR, old_mcr);
    uart_out(UART_LCR, 0x80);
    uart_out(UART_DLL, old_dll);
    uart_out(UART_DLM, old_dlm);
    uart_out(UART_LCR, old_lcr);
    return count;
}

/* autoconfig_16550a(), with the variant checks that Linux runs when
 * CONFIG_SERIAL_8250_16550A_VARIANTS is set (or UPF_FULL_PROBE). */
static const char *autoconfig_16550a(uint8_t *iir64, uint8_t *iir64_dlab, unsigned *fifo)
{
    const char *type = "16550A";

    /* EFR present with DLAB set: only ST16C650V1 passes. */
    uart_out(UART_LCR, 0x80);
    if (uart_in(UART_EFR) == 0) {
        uart_out(UART_EFR, 0xA8);
        if (uart_in(UART_EFR) != 0) {
            type = "16650";
        } else {
            uart_out(UART_LCR, 0);
            uart_out(UART_FCR, 0x21);
            uint8_t s1 = uart_in(UART_IIR) & 0xE0;
            uart_out(UART_FCR, 0);
            uart_out(UART_LCR, 0);
            type = s1 == 0xE0 ? "16550A_FSL64" : "unknown";
        }
        uart_out(UART_EFR, 0);
        return type;
    }
    /* EFR with LCR = 0xBF (ST16C650V2, TI16C752, ...). */
    uart_out(UART_LCR, 0xBF);
    if (uart_in(UART_EFR) == 0)
        return "16650V2";

    /* National Semiconductor SuperIO: MCR.LOOP mirrored in EXCR1 (bank 2). */
    uart_out(UART_LCR, 0);
    uint8_t mcr = uart_in(UART_MCR);
    uart_out(UART_LCR, 0xE0);
    uint8_t excr1 = uart_in(0x02);
    if (!((excr1 ^ mcr) & 0x10)) {
        uart_out(UART_LCR, 0);
        uart_out(UART_MCR, mcr ^ 0x10);
        uart_out(UART_LCR, 0xE0);
        excr1 = uart_in(0x02);
        uart_out(UART_LCR, 0);
        uart_out(UART_MCR, mcr);
        if ((excr1 ^ mcr) & 0x10)
            return "NS16550A";
    }

    /* TI16750: IIR bit 5 (64-byte FIFO) only with DLAB set while enabling. */
    uart_out(UART_LCR, 0);
    uart_out(UART_FCR, 0x21); /* ENABLE_FIFO | FCR7_64BYTE */
    *iir64 = uart_in(UART_IIR) & 0xE0;
    uart_out(UART_FCR, 0x01);
    uart_out(UART_LCR, 0x80);
    uart_out(UART_FCR, 0x21);
    *iir64_dlab = uart_in(UART_IIR) & 0xE0;
    uart_out(UART_FCR, 0x01);
    uart_out(UART_LCR, 0);
    if (*iir64 == 0xC0 && *iir64_dlab == 0xE0)
        return "16750";

    /* XScale: IER bit 6 (UUE) sticks. */
    uint8_t ier = uart_in(UART_IER);
    uart_out(UART_IER, ier & ~0x40);
    if (!(uart_in(UART_IER) & 0x40)) {
        uart_out(UART_IER, ier | 0x40);
        if (uart_in(UART_IER) & 0x40) {
            uart_out(UART_IER, ier);
            return "XScale";
        }
    }
    uart_out(UART_IER, ier);

    /* 16550A against U6_16550A: the FIFO size. */
    *fifo = size_fifo();
    if (*fifo == 64)
        type = "U6_16550A";
    return type;
}

/* autoconfig(): the FIFO bits of IIR after enabling the FIFOs select the
 * family; then the 16550A variants. */
static void probe_uart_fifo(void)
{
    uint8_t save_lcr = uart_in(UART_LCR);
    uint8_t iir64 = 0, iir64_dlab = 0;
    unsigned fifo = 0;
    const char *type;

    uart_out(UART_LCR, 0xBF); /* UART_LCR_CONF_MODE_B */
    uart_out(UART_EFR, 0);
    uart_out(UART_LCR, 0);
    uart_out(UART_FCR, 0x01); /* UART_FCR_ENABLE_FIFO */
    uint8_t iir = uart_in(UART_IIR);
    switch (iir >> 6) {
    case 0: { /* autoconfig_8250(): a scratch register makes it a 16450 */
        uint8_t s1, s2;
        type = scratch_holds_values(&s1, &s2) ? "16450" : "8250";
        break;
    }
    case 2:
        type = "16550";
        break;
    case 3:
        type = autoconfig_16550a(&iir64, &iir64_dlab, &fifo);
        break;
    default:
        type = "unknown";
        break;
    }
    uart_out(UART_LCR, save_lcr);
    uart_restore_console(); /* FCR = 0xC7 and the rest, as the console needs */

    bool pass = streq(type, "16550A");
    report("uart_fifo", pass, "type=%s iir=0x%x iir64=0x%x iir64_dlab=0x%x fifo=%u", type, iir,
           iir64, iir64_dlab, fifo);
}

/* serial8250_startup(): does THRE come back when ETBEI is toggled while
 * the transmitter is idle? Linux sets UART_BUG_THRE if the first read shows
 * an interrupt and the second none. Here the first read must also show
 * THRE (a UART that never raises it would otherwise pass). */
static void probe_uart_thre(void)
{
    uart_wait_idle();
    uart_out(UART_IER, UART_IER_THRI);
    short_delay();
    uint8_t iir1 = uart_in(UART_IIR);
    uart_out(UART_IER, 0);
    uart_out(UART_IER, UART_IER_THRI);
    short_delay();
    uint8_t iir2 = uart_in(UART_IIR);
    uart_out(UART_IER, 0);

    bool bug_thre = !(iir1 & 0x01) && (iir2 & 0x01);
    report("uart_thre", !bug_thre && (iir1 & 0x0F) == 0x02, "iir1=0x%x iir2=0x%x bug_thre=%d",
           iir1, iir2, bug_thre);
}

/* An idle, initialised 16550A with IER = 0: LSR = THRE | TEMT and no
 * interrupt pending (IIR 0x01, or 0xC1 with the FIFOs on). */
static void probe_uart_lsr_reset(void)
{
    uart_wait_idle();
    uint8_t ier = uart_in(UART_IER);
    uint8_t lsr = uart_in(UART_LSR);
    uint8_t iir = uart_in(UART_IIR);
    report("uart_lsr_reset", ier == 0 && lsr == 0x60 && (iir == 0x01 || iir == 0xC1),
           "ier=0x%x lsr=0x%x iir=0x%x", ier, lsr, iir);
}

/* ---- 8254 ------------------------------------------------------------- */

#define PIT_CH2 0x42
#define PIT_CMD 0x43

/* Channel 2 with its gate low, mode 0, count 0xC000: the read-back command
 * (0xC8: latch count and status of counter 2) gives the status byte, then
 * the count; the counter latch command (0x80) gives the count again. The
 * status must say OUT low, count loaded (NULL COUNT 0), LSB-then-MSB, mode
 * 0, binary: 0x30. With the gate low a real 8254 holds the count; a VMM
 * may let it run, so only count <= programmed value is required, and the
 * difference (delta) is a measurement. */
static void probe_pit_readback(void)
{
    const uint16_t count = 0xC000;

    pit2_gate_off();
    pit2_oneshot(count);
    (void)inb(0x61); /* at least one PIT clock (838 ns) for the load */
    outb(PIT_CMD, 0xC8);
    uint8_t status = inb(PIT_CH2);
    uint16_t rb = inb(PIT_CH2);
    rb |= (uint16_t)(inb(PIT_CH2) << 8);
    outb(PIT_CMD, 0x80);
    uint16_t latched = inb(PIT_CH2);
    latched |= (uint16_t)(inb(PIT_CH2) << 8);
    /* Read-back of the status alone, now that the count has been read. */
    outb(PIT_CMD, 0xE8);
    uint8_t status2 = inb(PIT_CH2);

    bool pass = status == 0x30 && status2 == 0x30 && rb && rb <= count && latched &&
                latched <= rb;
    report("pit_readback", pass, "status=0x%x status2=0x%x delta=%u", status, status2,
           (unsigned)(count - latched));
}

/* The vCPU does not run all the time: on a loaded host (and on the KVM
 * this project runs on, which emulates ring 0) it stalls now and then for
 * up to several milliseconds, which a plain rdtsc loop shows too; and a
 * VMM's timer thread may be late as well. During such a stall PIT counts
 * move on and IRQ0 edges merge in the 8259's IRR. So the timing-based PIT
 * probes repeat a run that failed its check, for up to RETRY_SECONDS of TSC
 * (at least MIN_ATTEMPTS runs), and report the first run that passed (or
 * the last one): a device that is really wrong fails every run. Retries
 * change no reported fact; polls counts every run. */
#define CAL_ATTEMPTS 3
#define MIN_ATTEMPTS 5
#define RETRY_SECONDS 3

static struct pit_cal cal;

/* True while another run may start: fewer than MIN_ATTEMPTS done, or less
 * than RETRY_SECONDS of TSC since `start` (by pit_gate_out2's rate). */
static bool may_retry(int attempts_done, uint64_t start)
{
    uint64_t khz = cal.tsc_khz ? cal.tsc_khz : cfg.tsc_khz;
    if (attempts_done < MIN_ATTEMPTS)
        return true;
    return khz && rdtsc() - start < khz * 1000 * RETRY_SECONDS;
}

static uint64_t max_calibration_cycles(void)
{
    /* 2 s of TSC if the host said how fast it is; else enough for 2 s up
     * to 10 GHz. */
    return cfg.tsc_khz ? (uint64_t)cfg.tsc_khz * 2000 : 20000000000ull;
}

/* pit_calibrate_tsc() with the 50 ms latch. Pass iff OUT2 read 0 right
 * after programming and then rose (in every run). */
static void probe_pit_gate_out2(void)
{
    pit_calibrate_tsc(&cal, max_calibration_cycles(), CAL_ATTEMPTS);
    report("pit_gate_out2", cal.ok, "out2_initial=%u out2=%u polls=%lu cycles=%lu tsc_khz=%lu",
           cal.out_initial, cal.out_final, cal.polls, cal.cycles, cal.tsc_khz);
}

/* quick_pit_calibrate(), run for QUICK_STEPS MSB steps (256 PIT clocks,
 * 214.6 us each) instead of until its error estimate is below 500 ppm:
 * with port I/O as slow as it is under emulation, Linux's own early exit
 * (error extrapolated after the first step) would give up at once. */
#define QUICK_STEPS 64

static inline bool pit_verify_msb(uint8_t val)
{
    (void)inb(PIT_CH2); /* LSB, ignored */
    return inb(PIT_CH2) == val;
}

/* Linux's pit_expect_msb(): how many consecutive reads saw val as the MSB
 * (0: the first read saw something else, i.e. the count jumped), the TSC
 * after the last of them, and the TSC window (delta) around the change. */
static unsigned pit_expect_msb(uint8_t val, uint64_t *tscp, uint64_t *deltap, uint64_t *polls)
{
    unsigned count;
    uint64_t tsc = 0, prev_tsc = 0;

    for (count = 0; count < 50000; count++) {
        (*polls)++;
        if (!pit_verify_msb(val))
            break;
        prev_tsc = tsc;
        tsc = rdtsc();
    }
    *deltap = rdtsc() - prev_tsc;
    *tscp = tsc;
    return count;
}

struct quick_run {
    unsigned steps;  /* MSB steps seen in order, after 0xFF */
    bool clean;      /* all QUICK_STEPS seen and the final check held */
    bool jumped;     /* the count went on past an MSB before it was read:
                        the vCPU stalled, not a device fault */
    uint64_t cycles; /* TSC from the last 0xFF read to the last read of 0xFF - steps */
    uint64_t error;  /* Linux's d1 + d2 */
};

/* After pit_expect_msb(val) saw another MSB first: true if the count had
 * already gone below val (time went on while the vCPU did not run), false
 * if it was above it (the counter went backwards or stood: the device).
 * A count that had time to run through 0 since it was loaded at `loaded`
 * (a vCPU stall longer than the 55 ms the 0xFFFF count lasts, which a busy
 * host gives) starts again from 0xFFFF: above val, and still no fault. */
static bool msb_past(uint8_t val, uint64_t loaded)
{
    (void)inb(PIT_CH2);
    bool below = inb(PIT_CH2) < val;
    uint64_t khz = cal.tsc_khz ? cal.tsc_khz : cfg.tsc_khz;
    bool could_wrap = khz && (rdtsc() - loaded) * PIT_HZ / 1000 >= (uint64_t)0xFF00 * khz;
    return below || could_wrap;
}

static void quick_once(struct quick_run *r, uint64_t *polls)
{
    uint64_t tsc0 = 0, tsc = 0, d1 = 0, d2 = 0, t, d;
    unsigned i;

    r->steps = 0;
    r->clean = false;
    r->jumped = false;
    r->cycles = 0;
    r->error = ~0ull;

    pit2_gate_on();
    outb(PIT_CMD, 0xB0);
    outb(PIT_CH2, 0xFF);
    outb(PIT_CH2, 0xFF);
    uint64_t loaded = rdtsc();
    (void)pit_verify_msb(0); /* the count starts at the next clock edge */

    if (!pit_expect_msb(0xFF, &tsc0, &d1, polls)) {
        r->jumped = msb_past(0xFF, loaded);
        return;
    }
    for (i = 1; i <= QUICK_STEPS; i++) {
        if (!pit_expect_msb((uint8_t)(0xFF - i), &t, &d, polls)) {
            r->jumped = msb_past((uint8_t)(0xFF - i), loaded);
            break;
        }
        tsc = t;
        d2 = d;
    }
    r->steps = i - 1;
    if (r->steps) {
        r->cycles = tsc - tsc0;
        r->error = d1 + d2;
    }
    /* Linux's last check: the MSB is still the next value. Missed, it is a
     * count that went on while the vCPU did not run, unless it went back. */
    if (i > QUICK_STEPS) {
        r->clean = pit_verify_msb((uint8_t)(0xFF - i));
        if (!r->clean)
            r->jumped = msb_past((uint8_t)(0xFF - i), loaded);
    }
}

/* Judged as Linux judges it: quick_pit_calibrate() gives up, rather than
 * return a rate, when the count jumped or its error bound is too wide, and
 * Linux then calibrates another way. So a run where a vCPU stall made the
 * count skip values, or widened the error, says nothing about the device:
 * the probe retries, and if no run is clean it reports rate=inconclusive.
 * It fails only on what the device did: an MSB that stood or went back up,
 * or a clean run whose rate disagrees by more than 2 % with pit_gate_out2's
 * when both measurements are tight (error and window below 1 %). */
static void probe_pit_quick_calibrate(void)
{
    struct quick_run r = { 0 };
    uint64_t polls = 0, start = rdtsc();
    bool device_fault = false, tight = false;

    for (int attempt = 0; may_retry(attempt, start); attempt++) {
        quick_once(&r, &polls);
        if (!r.clean && !r.jumped) {
            device_fault = true;
            break;
        }
        tight = r.clean && r.error * 100 < r.cycles;
        if (tight)
            break;
    }
    /* kHz = cycles / (steps * 256 / PIT_HZ) / 1000 */
    uint64_t khz = r.steps ? r.cycles * PIT_HZ / ((uint64_t)r.steps * 256 * 1000) : 0;
    uint64_t ref = cal.tsc_khz;
    bool ref_tight = cal.ok && ref && cal.window * 100 < cal.cycles;
    bool judged = tight && ref_tight;
    bool agree = judged && (khz > ref ? khz - ref : ref - khz) * 50 <= ref;
    bool pass = !device_fault && (!judged || agree);
    report("pit_quick_calibrate", pass,
           "msb_first=0xff msb_sequence=%s steps=%u polls=%lu cycles=%lu tsc_khz=%lu rate=%s",
           device_fault ? "broken" : "ordered", r.steps, polls, r.cycles, khz,
           !judged ? "inconclusive" : agree ? "agrees" : "disagrees");
}

/* IRQ0 against channel 2: with channel 0 as the tick (mode 2 at hz),
 * count the interrupts during two back-to-back 50 ms one-shots on channel
 * 2 (the longest one-shot is 65536 clocks, 55 ms). */
static volatile uint64_t irq0_count;

static void count_tick(void)
{
    irq0_count++;
    pic_eoi(IRQ_PIT);
}

/* IRQs counted during the reference interval; ~0 if OUT2 never rose. */
static uint64_t irq0_once(uint64_t *cycles)
{
    const uint64_t bound = 4000000;
    uint64_t start = 0, t0 = 0;

    for (int shot = 0; shot < 2; shot++) {
        pit2_oneshot(PIT_LATCH_50MS);
        if (shot == 0) {
            start = irq0_count;
            t0 = rdtsc();
        }
        uint64_t polls = 0;
        while (!pit2_out() && ++polls < bound)
            ;
        if (polls >= bound)
            return ~0ull;
    }
    *cycles = rdtsc() - t0;
    return irq0_count - start;
}

static void probe_pit_mode2_irq0(void)
{
    const uint32_t ref_clocks = 2 * PIT_LATCH_50MS;
    uint32_t div = pit_divisor(cfg.hz);
    uint32_t expected = (ref_clocks + div / 2) / div;
    uint64_t irqs = 0, cycles = 0, start;
    bool pass = false;

    /* Gate first: on some VMMs a port 0x61 write reloads every counter. */
    pit2_gate_on();
    irq0_hook = count_tick;
    pit_init(cfg.hz);
    pic_set_mask(PIC_UNMASK(IRQ_PIT));
    __asm__ volatile("sti" ::: "memory");
    (void)inb(0x61); /* a stale IRQ0 from the firmware's tick comes in here */

    start = rdtsc();
    for (int attempt = 0; may_retry(attempt, start); attempt++) {
        irqs = irq0_once(&cycles);
        if (irqs == ~0ull)
            break;
        pass = irqs + 2 >= expected && irqs <= expected + 2;
        if (pass)
            break;
    }
    __asm__ volatile("cli" ::: "memory");
    pic_set_mask(0);
    irq0_hook = NULL;

    report("pit_mode2_irq0", pass, "hz=%u expected=%u irqs=%lu cycles=%lu", cfg.hz, expected,
           irqs == ~0ull ? 0 : irqs, cycles);
}

/* lsl in ring 0, as Linux runs it for its CPU number (48 0f 03 c0 in its
 * NMI entry): the limit of each GDT selector, or ZF clear and the register
 * untouched. The three operand sizes on the kernel's data segment. The
 * destination starts as a pattern, so an unchanged or half-written register
 * shows. Under vmm on hosts whose KVM cannot emulate it, vmm's fix-up runs it
 * (selftest=2 compares the report with QEMU's CPU model). */
#define LSL_PATTERN 0x5a5a5a5a5a5a5a5aull

static void lsl_once(const char *name, uint16_t selector, unsigned operand_bits, bool expect_zf,
                     uint64_t expect_value)
{
    uint64_t value = LSL_PATTERN, source = selector;
    uint8_t zf;
    if (operand_bits == 64)
        __asm__ volatile("lsl %[src], %[dst]\n\tsetz %[zf]"
                         : [dst] "+r"(value), [zf] "=qm"(zf)
                         : [src] "r"(source)
                         : "cc");
    else if (operand_bits == 32)
        __asm__ volatile("lsl %k[src], %k[dst]\n\tsetz %[zf]"
                         : [dst] "+r"(value), [zf] "=qm"(zf)
                         : [src] "r"(source)
                         : "cc");
    else
        __asm__ volatile("lsl %w[src], %w[dst]\n\tsetz %[zf]"
                         : [dst] "+r"(value), [zf] "=qm"(zf)
                         : [src] "r"(source)
                         : "cc");
    report(name, zf == expect_zf && value == expect_value, "selector=0x%x operand=%u zf=%u value=0x%lx",
           selector, operand_bits, zf, value);
}

static void probe_lsl(void)
{
    const uint64_t tss_limit = sizeof(struct tss) + IOMAP_BYTES;
    lsl_once("lsl_kernel_ds", KERNEL_DS, 64, true, 0xffffffff);
    lsl_once("lsl_kernel_ds32", KERNEL_DS, 32, true, 0xffffffff);
    lsl_once("lsl_kernel_ds16", KERNEL_DS, 16, true, (LSL_PATTERN & ~0xffffull) | 0xffff);
    lsl_once("lsl_user_ds", USER_DS, 64, true, 0xffffffff);
    lsl_once("lsl_user_cs", USER_CS, 64, true, 0xffffffff);
    lsl_once("lsl_tss", TSS_SEL, 64, true, tss_limit);
    lsl_once("lsl_null", 0, 64, false, LSL_PATTERN);
    lsl_once("lsl_kernel_ds_rpl3", KERNEL_DS | 3, 64, false, LSL_PATTERN);
    lsl_once("lsl_tss_upper_half", TSS_SEL + 8, 64, false, LSL_PATTERN);
    lsl_once("lsl_beyond_gdt", GDT_ENTRIES * 8, 64, false, LSL_PATTERN);
}

__attribute__((noreturn)) void selftest_run(void)
{
    /* Polled console, nothing pending, every PIC line masked. */
    console_sync();
    uart_wait_idle();
    __asm__ volatile("cli");
    pic_init(0);

    if (cfg.selftest == 2) {
        probe_lsl();
        kprintf("selftest done passed=%u failed=%u\n", passed, failed);
        kernel_exit(failed ? EXIT_SELFTEST_FAILED : EXIT_OK);
    }
    probe_uart_scratch();
    probe_uart_ier();
    probe_uart_loopback();
    probe_uart_fifo();
    probe_uart_thre();
    probe_uart_lsr_reset();
    probe_pit_readback();
    probe_pit_gate_out2();
    probe_pit_quick_calibrate();
    probe_pit_mode2_irq0();

    kprintf("selftest done passed=%u failed=%u\n", passed, failed);
    kernel_exit(failed ? EXIT_SELFTEST_FAILED : EXIT_OK);
}
