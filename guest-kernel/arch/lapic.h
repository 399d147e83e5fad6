/* arch/lapic.h - the local APIC (xAPIC, MMIO at 0xFEE00000): identity, EOI,
 * inter-processor interrupts, INIT-SIPI-SIPI and the timer. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_SPURIOUS_VECTOR 0xFF

uint8_t lapic_id(void);
void lapic_enable(void);  /* software-enable, TPR 0, this CPU */
void lapic_eoi(void);
/* A fixed IPI to one APIC id. */
void lapic_send_ipi(uint8_t apic_id, uint8_t vector);
/* The SDM's universal start-up algorithm for one AP (vol. 3, 8.4.4.1),
 * with the MP spec's delays (B.4): INIT, 10 ms, STARTUP, 200 us, STARTUP.
 * `page` is the trampoline's physical page number (below 1 MiB). */
void lapic_start_ap(uint8_t apic_id, uint8_t page);

/* calibrate_APIC_clock: the LAPIC timer's count rate (divide by 1) and
 * the TSC's, both against a 50 ms one-shot on PIT channel 2. */
struct lapic_cal {
    bool ok;
    uint64_t lapic_khz;
    uint64_t tsc_khz;
};
void lapic_calibrate(struct lapic_cal *c);
/* Periodic timer on `vector` at `hz`, from a calibrated rate. */
void lapic_timer_start(uint64_t lapic_khz, uint32_t hz, uint8_t vector);
