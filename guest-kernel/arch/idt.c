/* idt.c - the 256-entry IDT, one for all CPUs. All vectors point at the stubs in isr.S; only
 * int 0x80 is reachable from ring 3. */
#include "arch/idt.h"

#include <stdint.h>

#include "arch/cpu.h"
#include "kernel/trap.h"

struct idt_gate {
    uint16_t off_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
} __attribute__((packed));

struct idt_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define GATE_INTR_DPL0 0x8E /* present, 64-bit interrupt gate (clears IF) */
#define GATE_INTR_DPL3 0xEE

extern const uint64_t isr_table[256];

static struct idt_gate idt[256] __attribute__((aligned(16)));

static void set_gate(unsigned v, uint64_t handler, uint8_t type_attr, uint8_t ist)
{
    idt[v].off_lo = handler & 0xFFFF;
    idt[v].selector = KERNEL_CS;
    idt[v].ist = ist;
    idt[v].type_attr = type_attr;
    idt[v].off_mid = (handler >> 16) & 0xFFFF;
    idt[v].off_hi = handler >> 32;
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, isr_table[v], GATE_INTR_DPL0, 0);
    idt[8].ist = 1;
    /* An interrupt gate (not a trap gate) for syscalls too: the kernel runs
     * with interrupts off except where it explicitly waits with sti; hlt. */
    idt[SYSCALL_VECTOR].type_attr = GATE_INTR_DPL3;
    idt_load();
}

void idt_load(void)
{
    struct idt_ptr p = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(p));
}

/* Points a vector at another entry stub (bench=pit: irq0_tsc_entry). */
void idt_set_handler(unsigned vector, void (*entry)(void))
{
    set_gate(vector, (uint64_t)entry, idt[vector].type_attr, idt[vector].ist);
}

/* For crash=triple: with a zero-limit IDT no exception can be delivered,
 * so the next fault escalates to a triple fault and the VM shuts down. */
void idt_load_empty(void)
{
    struct idt_ptr p = { 0, 0 };
    __asm__ volatile("lidt %0" : : "m"(p));
}
