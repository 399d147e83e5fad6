/* gdt.c - each CPU's GDT and TSS. The descriptors are the template in
 * boot.S; every CPU gets a copy, because ltr marks the TSS descriptor busy
 * and a second CPU could not load the same one. The TSS descriptor needs
 * a link-time address split into fields, which the assembler cannot do,
 * so it is filled in here. */
#include "arch/cpu.h"

#include <stddef.h>

#include "lib/string.h"

_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");
_Static_assert(offsetof(struct cpu, iomap) == offsetof(struct cpu, tss) + sizeof(struct tss) &&
                   offsetof(struct cpu, iomap_end) == offsetof(struct cpu, iomap) + IOMAP_BYTES,
               "the I/O bitmap follows the TSS, inside its limit");

extern const uint64_t gdt[], gdt_end[];

struct cpu cpus[MAX_CPUS];
unsigned ncpus = 1;

/* #DF runs on its own stack (IST1) so a kernel stack overflow is still
 * reported instead of escalating to a triple fault. */
static uint8_t df_stacks[MAX_CPUS][2048] __attribute__((aligned(16)));

struct gdt_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

void gdt_init_cpu(struct cpu *c)
{
    _Static_assert(sizeof(c->gdt) >= 7 * 8, "room for the template");
    memcpy(c->gdt, gdt, (size_t)((const char *)gdt_end - (const char *)gdt));

    uint64_t base = (uint64_t)&c->tss;
    uint64_t limit = sizeof(c->tss) + IOMAP_BYTES + 1 - 1;
    /* IOPL stays 0, so ring 3 port I/O is checked against the bitmap, and
     * the bitmap starts with every port denied: what ring 3 may touch is
     * opened one port at a time (tss_allow_wake_mark), never by IOPL 3,
     * which would give it every port and cli as well. */
    c->tss.iomap_base = sizeof(c->tss);
    memset(c->iomap, 0xFF, sizeof(c->iomap));
    c->iomap_end = 0xFF;
    c->tss.ist[0] = (uint64_t)(df_stacks[c->id] + sizeof(df_stacks[0]));
    c->gdt[TSS_SEL / 8] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
                          (0x89ULL << 40) /* present, 64-bit TSS (available) */ |
                          (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    c->gdt[TSS_SEL / 8 + 1] = base >> 32;

    /* Same selectors as the template, so the loaded segment registers stay
     * valid without a reload. */
    struct gdt_ptr p = { sizeof(c->gdt) - 1, (uint64_t)c->gdt };
    __asm__ volatile("lgdt %0" : : "m"(p));
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)TSS_SEL));
}

/* wake_mark=1: the waiters write their GSI to the wake-mark port from
 * ring 3 the moment they run again, so the host sees the wake-up without
 * a system call in the way (one would add its ring-0 entry and exit, run
 * by the instruction emulator here, to what is measured). Only the
 * port's two bytes are opened. The CPU reads the bitmap at every access,
 * so CPUs already running see the change. */
void tss_allow_wake_mark(void)
{
    for (unsigned i = 0; i < MAX_CPUS; i++)
        for (unsigned port = WAKE_MARK_PORT; port < WAKE_MARK_PORT + 2; port++)
            cpus[i].iomap[port / 8] &= (uint8_t)~(1u << (port % 8));
}
