/* tick.c - the jiffies and a tick on every CPU (see tick.h). */
#include "kernel/tick.h"

#include "arch/cpu.h"
#include "arch/lapic.h"
#include "arch/pic.h"
#include "drivers/pit.h"
#include "kernel/ipi.h"
#include "kernel/sched.h"
#include "kernel/trace.h"
#include "kernel/trap.h"

volatile uint64_t jiffies;

static volatile bool stopped;
static uint8_t pit_vector = IRQ_BASE; /* IRQ0 through the 8259 */
static bool pit_via_ioapic;
static uint64_t lapic_khz, tsc_khz, tsc_base, tsc_per_tick;

static struct {
    uint64_t last_jiffies;
    uint64_t ticks;
    uint64_t irqs;
} per_cpu[MAX_CPUS];

/* Charges the jiffies since this CPU's last tick. */
static void local_tick(void)
{
    unsigned me = this_cpu_id();
    uint64_t now = jiffies;
    uint64_t n = now - per_cpu[me].last_jiffies;
    per_cpu[me].irqs++;
    if (!n)
        return;
    per_cpu[me].last_jiffies = now;
    per_cpu[me].ticks += n;
    sched_tick(n);
}

static void check_end(void)
{
    /* nmi=finish: the NMI handler only counts (it may have interrupted
     * anything, the finish included); the run ends here, at a tick. */
    if ((cfg.runtime_ticks && jiffies >= cfg.runtime_ticks) ||
        (cfg.nmi == NMI_FINISH && trap_nmi_count() > 0))
        sched_finish();
}

/* IRQ0, on the boot CPU. */
static void pit_interrupt(unsigned vector)
{
    (void)vector;
    if (pit_via_ioapic)
        lapic_eoi();
    else
        pic_eoi(0);
    if (stopped)
        return;
    uint64_t now = jiffies + 1;
    jiffies = now;
    vvar.ticks = now;
    unsigned me = this_cpu_id();
    for (unsigned c = 0; c < ncpus; c++)
        if (c != me && cpus[c].online)
            ipi_send(c, IPI_TICK);
    local_tick();
    check_end();
}

void tick_ipi(void)
{
    if (!stopped)
        local_tick();
}

static void lapic_timer_interrupt(unsigned vector)
{
    (void)vector;
    lapic_eoi();
    if (stopped)
        return;
    bool timekeeper = this_cpu_id() == 0;
    if (timekeeper) {
        uint64_t now = (rdtsc() - tsc_base) / tsc_per_tick;
        if (now > jiffies) {
            jiffies = now;
            vvar.ticks = now;
        }
    }
    local_tick();
    if (timekeeper)
        check_end();
}

void tick_set_pit_vector(uint8_t vector, bool via_ioapic)
{
    pit_vector = vector;
    pit_via_ioapic = via_ioapic;
}

bool tick_init(void)
{
    if (cfg.tick == TICK_LAPIC) {
        struct lapic_cal cal;
        lapic_calibrate(&cal);
        kprintf("calibrate lapic_khz=%lu tsc_khz=%lu against=pit2 window_ms=50 result=%s\n",
                cal.lapic_khz, cal.tsc_khz, cal.ok ? "ok" : "fail");
        if (!cal.ok) {
            kprintf("error tick=lapic reason=calibration_failed\n");
            return false;
        }
        lapic_khz = cal.lapic_khz;
        tsc_khz = cal.tsc_khz;
        tsc_per_tick = tsc_khz * 1000 / cfg.hz;
        if (!tsc_per_tick)
            tsc_per_tick = 1;
        trap_set_handler(LAPIC_TIMER_VECTOR, lapic_timer_interrupt);
    } else {
        trap_set_handler(pit_vector, pit_interrupt);
        trace_set_vector_gsi(pit_vector, 0);
    }
    return true;
}

void tick_start_cpu(void)
{
    per_cpu[this_cpu_id()].last_jiffies = jiffies;
    if (cfg.tick == TICK_LAPIC)
        lapic_timer_start(lapic_khz, cfg.hz, LAPIC_TIMER_VECTOR);
}

void tick_start(void)
{
    if (cfg.tick == TICK_LAPIC) {
        tsc_base = rdtsc();
        tick_start_cpu();
    } else {
        per_cpu[this_cpu_id()].last_jiffies = jiffies;
        pit_init(cfg.hz); /* ticks count from here; IF stays 0 until the first iret */
    }
}

void tick_stop(void)
{
    stopped = true;
}

uint64_t tick_lapic_khz(void)
{
    return lapic_khz;
}

uint64_t tick_tsc_khz(void)
{
    return tsc_khz;
}

uint64_t tick_cpu_ticks(unsigned cpu)
{
    return per_cpu[cpu].ticks;
}

uint64_t tick_cpu_irqs(unsigned cpu)
{
    return per_cpu[cpu].irqs;
}
