/* arch/cpu.h - one struct per CPU: its GDT (each CPU needs its own TSS
 * descriptor, since ltr marks the descriptor busy), its TSS and its
 * identity; and the GDT selectors, which every CPU's GDT shares. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "user/abi.h"

/* GDT layout (arch/boot.S, copied per CPU). User data sits below user
 * code so the order would also suit syscall/sysret. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define TSS_SEL 0x28
#define GDT_ENTRIES 7 /* the TSS descriptor takes two */

/* Enough for the 16-vCPU machines; vmm allows more, and the MP
 * table parser says so and keeps the first MAX_CPUS. */
#define MAX_CPUS 16

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

/* The I/O permission bitmap right after each TSS (Intel SDM vol. 1,
 * 19.5.2): one bit per port from port 0, set = #GP at CPL > IOPL, then a
 * byte of 0xFF, since the CPU reads two bytes for an access whose bits
 * end in the last one. It covers the ports up to the wake mark's; ports
 * past the TSS limit fault as if their bit were set. */
#define IOMAP_PORTS (WAKE_MARK_PORT + 2)
#define IOMAP_BYTES ((IOMAP_PORTS + 7) / 8)

struct cpu {
    uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
    struct tss tss;
    uint8_t iomap[IOMAP_BYTES]; /* must follow tss directly (gdt.c checks) */
    uint8_t iomap_end;          /* 0xFF */
    /* The kernel GS base points here (swapgs in syscall_entry, whose
     * offsets these are): the running task's kernel stack top, and room
     * for the user's RSP while the entry switches stacks. */
    struct {
        uint64_t kstack;   /* 0 */
        uint64_t user_rsp; /* 8 */
    } syscall;
    unsigned id;      /* index into cpus[] */
    uint8_t apic_id;  /* from the MP table */
    bool bsp;
    volatile bool online;
};

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus; /* CPUs the MP table lists (and we keep) */

/* Loads this CPU's GDT and TSS; `c` must be the CPU running the call. */
void gdt_init_cpu(struct cpu *c);
/* wake_mark=1: lets ring 3 write the wake-mark port, on every CPU. */
void tss_allow_wake_mark(void);
