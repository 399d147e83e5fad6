/* pit.c - 8254 channel 0 as the periodic tick. */
#include "kernel.h"

#define PIT_HZ 1193182u

void pit_init(uint32_t hz)
{
    uint32_t div = (PIT_HZ + hz / 2) / hz;
    /* Below ~18.2 Hz the divisor no longer fits 16 bits; 0 means 65536,
     * the slowest rate the PIT has. */
    if (div > 0xFFFF)
        div = 0;
    outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
    outb(0x40, div & 0xFF);
    outb(0x40, (div >> 8) & 0xFF);
}
