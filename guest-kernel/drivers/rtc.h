/* drivers/rtc.h - the PC's CMOS clock (MC146818A at ports 0x70/0x71), read
 * once: what CLOCK_REALTIME counts from. */
#pragma once

#include <stdint.h>

/* Seconds since 1970-01-01 00:00 UTC as the clock shows them (a PC's clock
 * keeps UTC under Linux, and vmm's shows the host's UTC); 0 when no clock
 * answers sensibly. */
uint64_t rtc_read_epoch(void);
