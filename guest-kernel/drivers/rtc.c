/* rtc.c - reads the CMOS clock (see rtc.h). The registers are those of the
 * MC146818A datasheet: 0x00 seconds, 0x02 minutes, 0x04 hours, 0x07 day of
 * month, 0x08 month, 0x09 year of century, 0x32 century (where a PC's FADT
 * points), A bit 7 = update in progress, B bit 2 = binary (else BCD),
 * B bit 1 = 24-hour (else 12-hour with bit 7 of the hours = PM). */
#include "drivers/rtc.h"

#include <stdbool.h>

#include "arch/x86.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

static uint8_t cmos(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

static unsigned from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0x0F);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; the civil-from-days
 * inverse of Howard Hinnant's algorithm). */
static uint64_t days_since_epoch(unsigned y, unsigned m, unsigned d)
{
    y -= m <= 2;
    unsigned era = y / 400, yoe = y - era * 400;
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (uint64_t)era * 146097 + doe - 719468;
}

uint64_t rtc_read_epoch(void)
{
    /* Bounded: a missing chip reads 0xFF, whose UIP bit never clears. */
    for (int i = 0; i < 1000 && (cmos(0x0A) & 0x80); i++)
        cpu_relax();
    uint8_t b = cmos(0x0B);
    bool binary = b & 0x04, h24 = b & 0x02;
    uint8_t raw[7] = { cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32) };
    bool pm = !h24 && (raw[2] & 0x80);
    raw[2] &= 0x7F;
    unsigned v[7];
    for (int i = 0; i < 7; i++)
        v[i] = binary ? raw[i] : from_bcd(raw[i]);
    unsigned hour = v[2];
    if (!h24)
        hour = hour % 12 + (pm ? 12 : 0);
    unsigned century = v[6] >= 19 && v[6] <= 99 ? v[6] : 20;
    unsigned year = century * 100 + v[5];
    if (v[0] > 59 || v[1] > 59 || hour > 23 || v[3] < 1 || v[3] > 31 || v[4] < 1 || v[4] > 12 || year < 1970)
        return 0;
    return days_since_epoch(year, v[4], v[3]) * 86400 + hour * 3600 + v[1] * 60 + v[0];
}
