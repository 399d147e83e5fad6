/* arch/mptable.h - the Intel MultiProcessor Specification 1.4 table, read
 * as Linux's mpparse.c reads it: the CPUs, the I/O APIC and where each ISA
 * IRQ enters it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "arch/cpu.h"

struct mp_info {
    bool found;
    unsigned ncpus;          /* enabled processors kept (at most MAX_CPUS) */
    unsigned listed;         /* enabled processors the table lists */
    uint8_t apic_ids[MAX_CPUS];
    unsigned bsp;            /* index of the boot processor */
    uint8_t ioapic_id;
    uint64_t ioapic_addr;
    int8_t isa_pin[16];      /* IOAPIC pin of ISA IRQ n, -1: no entry */
    uint64_t table_addr;     /* of the floating pointer, for the log */
};

/* Scans where Linux's smp_scan_config() looks that this kernel has mapped
 * (the last KiB of base memory and the BIOS area 0xF0000-0xFFFFF; the
 * BDA's EBDA pointer is in page 0, which stays unmapped). Returns false
 * after printing an `error mptable=...` line for a corrupt table. A
 * missing one gives found=false and a uniprocessor machine. */
bool mptable_read(struct mp_info *mp, bool corrupt_first);
