/* gdt.c - the TSS and its GDT descriptor. The GDT itself is static in
 * boot.S; only the TSS descriptor needs a link-time address split into
 * fields, which the assembler cannot do, so it is filled in here. */
#include "kernel.h"

struct tss {
    uint32_t reserved0;
    uint64_t rsp0; /* kernel stack used on interrupts from ring 3 */
    uint64_t rsp1;
    uint64_t rsp2;
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");

extern uint64_t gdt[];

static struct tss tss;

/* #DF runs on its own stack (IST1) so a kernel stack overflow is still
 * reported instead of escalating to a triple fault. */
static uint8_t df_stack[4096] __attribute__((aligned(16)));

void gdt_init(void)
{
    uint64_t base = (uint64_t)&tss;
    uint64_t limit = sizeof(tss) - 1;

    /* An I/O bitmap offset past the limit means "no bitmap": with IOPL 0,
     * ring 3 port I/O faults. */
    tss.iomap_base = sizeof(tss);
    tss.ist[0] = (uint64_t)(df_stack + sizeof(df_stack));

    gdt[TSS_SEL / 8] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
                       (0x89ULL << 40) /* present, 64-bit TSS (available) */ |
                       (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt[TSS_SEL / 8 + 1] = base >> 32;

    __asm__ volatile("ltr %w0" : : "r"((uint16_t)TSS_SEL));
}

void tss_set_rsp0(uint64_t rsp0)
{
    tss.rsp0 = rsp0;
}
