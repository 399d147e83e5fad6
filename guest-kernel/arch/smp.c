/* smp.c - bringing the application processors up (xv6's main.c startothers
 * and lapic.c lapicstartap in shape): the trampoline is copied below 1 MiB,
 * then each AP in turn gets INIT-SIPI-SIPI with its idle stack in the
 * trampoline's data, and the boot CPU waits for it to come online before
 * starting the next, so one copy of the data serves them all. */
#include "arch/smp.h"

#include "arch/cpu.h"
#include "arch/idt.h"
#include "arch/lapic.h"
#include "drivers/pit.h"
#include "kernel/console.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/config.h"
#include "kernel/tick.h"
#include "modes/modes.h"
#include "lib/string.h"

#define AP_TRAMPOLINE 0x8000 /* arch/trampoline.S */
/* How long an AP may take from the STARTUP IPI to online: the trampoline
 * is some 40 instructions, but a vCPU can stall for milliseconds here. */
#define AP_ONLINE_TIMEOUT_MS 1000

extern const char trampoline_start[], trampoline_end[];
extern uint64_t tramp_cr3, tramp_stack, tramp_entry;
extern char pml4[];

static void ap_entry(void);

/* The trampoline's variables, in the copy. */
static uint64_t *tramp_var(uint64_t *linked)
{
    return (uint64_t *)((uint64_t)linked - (uint64_t)trampoline_start + AP_TRAMPOLINE);
}

static bool wait_online(struct cpu *c)
{
    for (unsigned ms = 0; ms < AP_ONLINE_TIMEOUT_MS; ms += 10) {
        for (int spin = 0; spin < 10; spin++) {
            if (c->online)
                return true;
            pit_delay_us(1000);
        }
    }
    return c->online;
}

unsigned smp_boot_aps(void)
{
    struct cpu *bsp = &cpus[this_cpu_id()];
    unsigned online = 1;
    kprintf("cpu id=%u state=online apic=%u\n", bsp->id, bsp->apic_id);
    if (ncpus == 1)
        return online;

    memcpy((void *)AP_TRAMPOLINE, trampoline_start, (size_t)(trampoline_end - trampoline_start));
    *tramp_var(&tramp_cr3) = (uint64_t)pml4;
    *tramp_var(&tramp_entry) = (uint64_t)ap_entry;
    for (unsigned i = 0; i < ncpus; i++) {
        struct cpu *c = &cpus[i];
        if (c == bsp)
            continue;
        *tramp_var(&tramp_stack) = (uint64_t)(idle_stacks[i].bytes + KSTACK_SIZE);
        __asm__ volatile("" ::: "memory");
        lapic_start_ap(c->apic_id, AP_TRAMPOLINE >> 12);
        if (wait_online(c))
            online++;
        else
            kprintf("warn cpu id=%u state=timeout apic=%u\n", c->id, c->apic_id);
    }
    return online;
}

/* First C code on an AP, on its idle stack (whose task struct the boot
 * CPU filled in, so `current` and this_cpu_id() already work). */
static void ap_entry(void)
{
    ap_main();
}

__attribute__((noreturn)) void ap_main(void)
{
    struct cpu *c = &cpus[this_cpu_id()];
    gdt_init_cpu(c);
    idt_load();
    if (cfg.init[0])
        proc_init_cpu();
    lapic_enable();
    tick_start_cpu();
    kprintf("cpu id=%u state=online apic=%u\n", c->id, lapic_id());
    __asm__ volatile("" ::: "memory");
    c->online = true;
    if (cfg.mode == MODE_SMPTEST)
        smptest_cpu();
    sched_run_cpu();
}
