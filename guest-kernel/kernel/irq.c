/* irq.c - irqs=: interrupt lines a VMM scripts (see README, "Interrupt
 * lines"), through the 8259 pair, the IOAPIC or as MSIs straight to the
 * LAPIC, and bench=irq, which times their delivery from the host.
 *
 * A line's interrupt wakes the tasks that wait for it (waiters=, the
 * wait_irq system call). Every handler writes the line's GSI to port 0x520 first (the device-side
 * acknowledgement: it lowers a level line, and is what the host counts as
 * "delivered"), reads back whether the device had an interrupt pending (a
 * level line re-raised by an early resample comes back once more with
 * nothing pending, as on a shared line: not counted), counts, then EOIs its
 * controller. */
#include "kernel/irq.h"

#include "arch/idt.h"
#include "arch/ioapic.h"
#include "arch/lapic.h"
#include "arch/pic.h"
#include "arch/x86.h"
#include "kernel/exit.h"
#include "kernel/sched.h"
#include "kernel/spinlock.h"
#include "kernel/trace.h"
#include "kernel/trap.h"
#include "modes/modes.h"
#include "drivers/pit.h"
#include "lib/string.h"

/* Vector -> index + 1 into cfg.irqs (0: not an irqs= line). */
static uint8_t irq_line_of_vector[256];

/* Tasks waiting for a line, and interrupts no task was waiting for yet
 * (each wakes one wait later: nothing is lost between two waits). */
struct line_wait {
    struct spinlock lock;
    struct task *head, *tail;
    uint64_t pending;
};
static struct line_wait waits[MAX_IRQS];

volatile uint16_t irq_bench_gsi;
volatile uint64_t irq_bench_vector;
static bool acked_in_entry; /* bench=irq: irq_bench_entry wrote port 0x520 */

static char spec[MAX_TOKEN_IRQS + 1];
static size_t spec_len;

static bool span_is(const char *p, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n; i++)
        if (lit[i] != p[i])
            return false;
    return lit[i] == '\0';
}

static bool digits(const char *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    if (n == 0 || n > 6)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(p[i] - '0');
    }
    *out = v;
    return true;
}

static bool entry_error(const char *e, size_t n, const char *reason)
{
    return parse_error("irqs", 4, e, n, reason);
}

/* One entry GSI[:level][:msiVEC]. */
static bool parse_entry(struct config *c, const char *e, size_t n)
{
    size_t i = 0;
    while (i < n && e[i] != ':')
        i++;
    uint32_t gsi, vec = 0;
    bool level = false, msi = false;
    if (!digits(e, i, &gsi))
        return entry_error(e, n, "not_a_number");
    while (i < n) {
        size_t s = ++i;
        while (i < n && e[i] != ':')
            i++;
        if (span_is(e + s, i - s, "level") && !level)
            level = true;
        else if (span_is(e + s, i - s, "edge") && !level)
            ; /* the default, accepted for symmetry */
        else if (i - s > 3 && span_is(e + s, 3, "msi") && !msi) {
            if (!digits(e + s + 3, i - s - 3, &vec))
                return entry_error(e, n, "not_a_number");
            if (vec < 32 || vec > 255)
                return entry_error(e, n, "out_of_range");
            msi = true;
        } else
            return entry_error(e, n, "unknown_value");
    }
    if (gsi > 0xFFFF)
        return entry_error(e, n, "out_of_range");
    /* 0: the PIT, 2: the cascade, 4: the UART. */
    if (gsi == 0 || gsi == 2 || gsi == 4)
        return entry_error(e, n, "reserved");
    /* Below 24 the host routes to the PIC/IOAPIC, from 24 on as MSI. */
    if (msi != (gsi >= 24) || (msi && level))
        return entry_error(e, n, "conflict");
    if (c->nirqs >= MAX_IRQS)
        return entry_error(e, n, "out_of_range");
    for (uint32_t k = 0; k < c->nirqs; k++)
        if (c->irqs[k].gsi == gsi)
            return entry_error(e, n, "conflict");
    struct irq_line *l = &c->irqs[c->nirqs++];
    l->gsi = (uint16_t)gsi;
    l->level = level;
    l->msi = msi;
    l->vector = (uint8_t)vec;
    l->count = 0;
    l->spurious = 0;
    return true;
}

bool irq_parse(struct config *c, const char *v, size_t vn)
{
    c->nirqs = 0; /* the last irqs= wins */
    spec_len = vn < MAX_TOKEN_IRQS ? vn : MAX_TOKEN_IRQS;
    for (size_t i = 0; i < spec_len; i++) /* printed in the config line */
        spec[i] = (v[i] > ' ' && v[i] < 0x7F && v[i] != '"') ? v[i] : '?';
    spec[spec_len] = '\0';
    size_t i = 0;
    while (i <= vn) {
        size_t s = i;
        while (i < vn && v[i] != ',')
            i++;
        if (i == s)
            return entry_error(v, vn, "not_a_number");
        if (!parse_entry(c, v + s, i - s))
            return false;
        i++;
    }
    return true;
}

/* After all options: vectors and routes (intc= may come after irqs=). */
bool irq_validate(struct config *c)
{
    if (c->mode == MODE_BENCH_IRQ && c->nirqs != 1) {
        if (!c->nirqs) {
            kprintf("error option=bench value=irq reason=needs_irqs\n");
            return false;
        }
        return parse_error("irqs", 4, spec, spec_len, "conflict");
    }
    if (c->nirqs && c->mode != MODE_TASKS && c->mode != MODE_BENCH_IRQ)
        return parse_error("irqs", 4, spec, spec_len, "conflict");
    memset(irq_line_of_vector, 0, sizeof(irq_line_of_vector));
    for (uint32_t k = 0; k < c->nirqs; k++) {
        struct irq_line *l = &c->irqs[k];
        if (l->msi) {
            l->via = VIA_MSI;
        } else if (l->gsi < 16 && c->intc == INTC_PIC) {
            l->via = VIA_PIC;
            l->vector = (uint8_t)(IRQ_BASE + l->gsi);
        } else {
            l->via = VIA_IOAPIC;
            l->vector = (uint8_t)(IOAPIC_VECTOR_BASE + l->gsi);
        }
        unsigned v = l->vector;
        bool reserved = l->via != VIA_PIC && ((v >= IRQ_BASE && v < IRQ_BASE + 16) ||
                                              v == SYSCALL_VECTOR || v >= LAPIC_TIMER_VECTOR);
        if (reserved || irq_line_of_vector[v])
            return parse_error("irqs", 4, spec, spec_len, "conflict");
        irq_line_of_vector[v] = (uint8_t)(k + 1);
    }
    return true;
}

static const char *const via_names[] = { "pic", "ioapic", "msi" };

void irq_print_config(const struct config *c)
{
    kprintf(" intc=%s irqs=%s", intc_mode_name(c->intc), spec);
}

static void irq_interrupt(unsigned vector);

unsigned irq_setup(uint8_t ioapic_dest)
{
    unsigned pic = 0;
    bool lapic = false;
    for (uint32_t k = 0; k < cfg.nirqs; k++) {
        struct irq_line *l = &cfg.irqs[k];
        waits[k].lock.name = "irq_line";
        trap_set_handler(l->vector, irq_interrupt);
        trace_set_vector_gsi(l->vector, l->gsi);
        if (l->via == VIA_PIC) {
            pic |= PIC_UNMASK(l->gsi);
            continue;
        }
        lapic = true;
        if (l->via == VIA_IOAPIC) /* vmm routes GSI n to IOAPIC pin n */
            ioapic_route(l->gsi, l->vector, l->level, ioapic_dest);
    }
    if (lapic)
        lapic_enable(); /* LINT0 keeps the 8259 coming as ExtINT */
    return pic;
}

int irq_line_index(uint16_t gsi)
{
    for (uint32_t k = 0; k < cfg.nirqs; k++)
        if (cfg.irqs[k].gsi == gsi)
            return (int)k;
    return -1;
}

/* The line's interrupt: hand it to the first waiter, or keep it. */
static void line_event(int k)
{
    struct line_wait *w = &waits[k];
    spin_lock(&w->lock);
    struct task *t = w->head;
    if (t) {
        w->head = t->next;
        if (!w->head)
            w->tail = NULL;
        t->next = NULL;
    } else {
        w->pending++;
    }
    spin_unlock(&w->lock);
    if (t && sched_wake(t, cfg.irqs[k].gsi))
        t->remote_wakeups++;
}

void irq_wait(int k)
{
    struct line_wait *w = &waits[k];
    struct task *t = current();
    spin_lock(&w->lock);
    if (w->pending) {
        w->pending--;
        spin_unlock(&w->lock);
        /* The interrupt came before the wait: this is its wake-up. */
        trace_event(TRACE_WAKE, cfg.irqs[k].gsi, trace_task(t->id), this_cpu_id());
    } else {
        t->state = TASK_WAITING;
        t->next = NULL;
        if (w->tail)
            w->tail->next = t;
        else
            w->head = t;
        w->tail = t;
        spin_unlock(&w->lock);
        sched_block();
    }
    t->wakeups++;
}

uint64_t irq_line_pending(int k)
{
    return k < 0 ? 0 : waits[k].pending;
}

/* For a vector in irq_line_of_vector. A spurious IRQ7 or IRQ15 on a PIC
 * line is counted as the 8259 spurious it is. */
static void irq_interrupt(unsigned vector)
{
    int k = irq_line_of_vector[vector] - 1;
    struct irq_line *l = &cfg.irqs[k];
    if (l->via == VIA_PIC && (l->gsi == 7 || l->gsi == 15) && pic_is_spurious(l->gsi)) {
        if (l->gsi == 15)
            pic_eoi(0);
        l->spurious++;
        return;
    }
    bool pending = true;
    if (!acked_in_entry) {
        outw(IRQ_ACK_PORT, l->gsi);
        pending = inw(IRQ_ACK_PORT) != IRQ_ACK_NOTHING_PENDING;
        trace_event(TRACE_LINE_ACK, l->gsi, pending, 0);
    }
    if (l->via == VIA_PIC)
        pic_eoi(l->gsi);
    else
        lapic_eoi();
    if (!pending) {
        __atomic_add_fetch(&l->spurious, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_add_fetch(&l->count, 1, __ATOMIC_RELAXED);
    line_event(k);
}

void irq_summary(void)
{
    for (uint32_t k = 0; k < cfg.nirqs; k++) {
        const struct irq_line *l = &cfg.irqs[k];
        kprintf("irq gsi=%u vector=0x%x trigger=%s via=%s count=%lu spurious=%lu\n", l->gsi,
                l->vector, l->level ? "level" : "edge", via_names[l->via], l->count, l->spurious);
    }
}

/* ---- bench=irq -------------------------------------------------------- */

static uint64_t bench_ticks, bench_target;

__attribute__((noreturn)) static void bench_irq_finish(void)
{
    kprintf("bench irq gsi=%u count=%lu\n", cfg.irqs[0].gsi, cfg.irqs[0].count);
    kernel_exit(EXIT_OK);
}

static void bench_irq_tick(void)
{
    pic_eoi(0);
    if (++bench_ticks >= bench_target)
        bench_irq_finish();
}

/* No tasks: idle in sti; hlt and acknowledge each interrupt of the one line
 * in its entry stub. With bench_ms=0 the PIT is never programmed and the
 * run never ends (bench_reference boots this on bare KVM, with no PIT and
 * no UART interrupt). */
__attribute__((noreturn)) void bench_irq_run(void)
{
    __asm__ volatile("cli");
    console_sync(); /* polled output from here on */
    struct irq_line *l = &cfg.irqs[0];
    unsigned pic = irq_setup(0); /* bench_reference may have no LAPIC to ask */
    if (!(l->via == VIA_PIC && (l->gsi == 7 || l->gsi == 15))) {
        irq_bench_gsi = l->gsi;
        irq_bench_vector = l->vector;
        acked_in_entry = true;
        idt_set_handler(l->vector, irq_bench_entry);
    }
    if (cfg.bench_ms) {
        uint64_t t = ((uint64_t)cfg.bench_ms * cfg.hz + 500) / 1000;
        bench_target = t ? t : 1;
        irq0_hook = bench_irq_tick;
        pic_init(pic | PIC_UNMASK(0));
        pit_init(cfg.hz);
    } else {
        pic_init(pic);
    }
    for (;;)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}
