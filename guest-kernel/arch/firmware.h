/* arch/firmware.h - reading the tables the VMM leaves in memory (the MP
 * table, ACPI): only where boot.S maps, and checksummed as both specs do. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Only what boot.S maps: 0x1000-1 GiB (page 0 stays unmapped). */
static inline bool firmware_mapped(uint64_t addr, uint64_t len)
{
    return addr >= 0x1000 && addr + len >= addr && addr + len <= (1UL << 30);
}

/* The bytes' sum mod 256: 0 for a table whose checksum is right. */
static inline uint8_t firmware_sum(const void *p, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += ((const uint8_t *)p)[i];
    return sum;
}
