/* drivers/pit.h - the 8254: channel 0 as the tick, channel 2 (gate and OUT
 * through port 0x61) as a one-shot for calibration and delays. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ 1193182u
#define PIT_LATCH_50MS (PIT_HZ / 20) /* Linux's CAL2_LATCH: 59659 */

uint32_t pit_divisor(uint32_t hz); /* channel 0 divisor for hz; 65536 when too slow */
void pit_init(uint32_t hz);
void pit2_gate_on(void);  /* port 0x61: gate 2 high, speaker off */
void pit2_gate_off(void); /* port 0x61: gate 2 low, speaker off */
void pit2_oneshot(uint16_t count); /* channel 2, mode 0, LSB then MSB */
bool pit2_out(void);      /* port 0x61 bit 5 */
/* Busy-waits `us` microseconds (at most 54 ms) on channel 2. */
void pit_delay_us(uint32_t us);

/* Linux's pit_calibrate_tsc() with a 50 ms one-shot on channel 2. */
struct pit_cal {
    bool ok;              /* OUT2 read 0 first, then went to 1 within the bounds */
    uint8_t out_initial;  /* OUT2 right after programming (0 expected) */
    uint8_t out_final;
    uint64_t polls;       /* port 0x61 reads that saw OUT2 low */
    uint64_t cycles;      /* TSC from programming to the last low read */
    uint64_t tsc_khz;
    uint64_t window;      /* uncertainty of cycles, in TSC cycles */
};
void pit_calibrate_tsc(struct pit_cal *c, uint64_t max_cycles, unsigned attempts);
