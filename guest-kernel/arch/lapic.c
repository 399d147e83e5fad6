/* lapic.c - the local APIC in xAPIC mode (Intel SDM vol. 3, chapter 10).
 * Every register is a 32-bit MMIO access at 0xFEE00000, which boot.S maps
 * uncached; KVM's in-kernel LAPIC answers them without leaving the kernel. */
#include "arch/lapic.h"

#include "arch/x86.h"
#include "drivers/pit.h"

#define LAPIC_BASE 0xFEE00000UL
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_ICR 0x380 /* initial count */
#define LAPIC_TIMER_CCR 0x390 /* current count */
#define LAPIC_TIMER_DCR 0x3E0 /* divide configuration */

#define SVR_ENABLE 0x100
#define ICR_FIXED 0x000
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define DCR_DIVIDE_BY_1 0xB

static inline uint32_t lapic_read(unsigned reg)
{
    return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

static inline void lapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(LAPIC_BASE + reg) = v;
}

uint8_t lapic_id(void)
{
    return (uint8_t)(lapic_read(LAPIC_ID) >> 24);
}

void lapic_enable(void)
{
    /* LINT0/LINT1 are left as the VMM (or BIOS) set them: ExtINT from the
     * 8259 on the BSP, NMI everywhere. */
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

static void icr_send(uint8_t apic_id, uint32_t low)
{
    /* Interrupts are off in the kernel, so nothing on this CPU can write
     * the ICR between the two halves. */
    lapic_write(LAPIC_ICR_HI, (uint32_t)apic_id << 24);
    lapic_write(LAPIC_ICR_LO, low);
    for (int i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_PENDING); i++)
        cpu_relax();
}

void lapic_send_ipi(uint8_t apic_id, uint8_t vector)
{
    icr_send(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

void lapic_start_ap(uint8_t apic_id, uint8_t page)
{
    /* The warm-reset vector and CMOS shutdown code that xv6 also writes
     * only matter to a BIOS that sees the INIT; no firmware runs here, and
     * an INIT puts a KVM vCPU straight into wait-for-SIPI. */
    icr_send(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
    pit_delay_us(200);
    icr_send(apic_id, ICR_INIT | ICR_LEVEL); /* deassert, for 82489DX-era APICs */
    pit_delay_us(10000);                     /* MP spec B.4: 10 ms after INIT */
    for (int i = 0; i < 2; i++) {            /* two STARTUPs, 200 us apart */
        icr_send(apic_id, ICR_STARTUP | page);
        pit_delay_us(200);
    }
}

void lapic_calibrate(struct lapic_cal *c)
{
    lapic_write(LAPIC_TIMER_DCR, DCR_DIVIDE_BY_1);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    pit2_gate_on();
    pit2_oneshot(PIT_LATCH_50MS);
    lapic_write(LAPIC_TIMER_ICR, 0xFFFFFFFF);
    uint64_t tsc0 = rdtsc();
    uint32_t count0 = lapic_read(LAPIC_TIMER_CCR);
    uint64_t polls = 0;
    while (!pit2_out() && polls < 10000000)
        polls++;
    uint32_t count1 = lapic_read(LAPIC_TIMER_CCR);
    uint64_t tsc1 = rdtsc();
    lapic_write(LAPIC_TIMER_ICR, 0);
    pit2_gate_off();

    /* The window is the exact period of the PIT count, 59659/1193182 s. */
    uint64_t counted = (uint64_t)(count0 - count1);
    c->ok = polls < 10000000; /* OUT2 rose */
    c->lapic_khz = counted * PIT_HZ / ((uint64_t)PIT_LATCH_50MS * 1000);
    c->tsc_khz = (tsc1 - tsc0) * PIT_HZ / ((uint64_t)PIT_LATCH_50MS * 1000);
    c->ok = c->ok && c->lapic_khz && c->tsc_khz;
}

void lapic_timer_start(uint64_t lapic_khz, uint32_t hz, uint8_t vector)
{
    uint64_t count = lapic_khz * 1000 / hz;
    lapic_write(LAPIC_TIMER_DCR, DCR_DIVIDE_BY_1);
    lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | vector);
    lapic_write(LAPIC_TIMER_ICR, count > 0xFFFFFFFF ? 0xFFFFFFFF : (uint32_t)(count ? count : 1));
}
