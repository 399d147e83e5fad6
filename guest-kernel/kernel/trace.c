/* trace.c - per-CPU event rings for vmm's timeline trace (see trace.h and
 * README, "Tracing"). Linux's ftrace ring buffer in miniature: a writer
 * per CPU that never takes a lock, a reader (vmm) that owns the tail, and
 * a full ring that drops and counts rather than overwrites.
 *
 * Ring 0 runs in KVM's instruction emulator here (about 0.7 us an
 * instruction, 2 us an rdtsc), so trace_record is kept to its minimum:
 * head, room check against tail, one 32-byte event, head + 1. */
#include "kernel/trace.h"

#include "arch/x86.h"
#include "kernel/sched.h"

bool trace_on;

/* In BSS (the Multiboot loader zeroes it): head, tail and dropped start
 * at 0. 132 KiB; the kernel still ends below the user page. */
static struct trace_area area __attribute__((aligned(64)));
/* &area.rings[cpu], so the recording path does no multiplication. */
static struct trace_ring *rings[TRACE_MAX_CPUS];

/* vector -> GSI + 1; 0 (BSS) means no device line: minus one is
 * TRACE_NO_GSI. */
static uint32_t vector_gsi[256];

void trace_set_vector_gsi(unsigned vector, uint32_t gsi)
{
    vector_gsi[vector & 0xFF] = gsi + 1;
}

uint32_t trace_vector_gsi(unsigned vector)
{
    return vector_gsi[vector & 0xFF] - 1;
}

void trace_init(unsigned ncpus)
{
    /* All-ones from a VMM without the port, 0 from vmm without --trace. */
    if (inl(TRACE_PORT) != TRACE_PORT_ENABLED)
        return;
    area.magic = TRACE_AREA_MAGIC;
    area.version = TRACE_ABI_VERSION;
    area.ncpus = ncpus < TRACE_MAX_CPUS ? ncpus : TRACE_MAX_CPUS;
    area.entries = TRACE_RING_ENTRIES;
    for (unsigned c = 0; c < TRACE_MAX_CPUS; c++)
        rings[c] = &area.rings[c];
    __asm__ volatile("" ::: "memory"); /* the header is complete before vmm sees the address */
    outl(TRACE_PORT, (uint32_t)(uint64_t)&area);
    trace_on = true;
    trace_sync();
}

void trace_sync(void)
{
    if (!trace_on)
        return;
    area.sync_tsc = rdtsc();
    outl(TRACE_SYNC_PORT, TRACE_SYNC);
}

void trace_record(uint32_t type, uint32_t arg0, uint64_t arg1, uint64_t arg2)
{
    /* First, while the argument registers are the only ones live. */
    uint64_t tsc = rdtsc();
    unsigned cpu = this_cpu_id();
    struct trace_ring *r = rings[cpu];
    uint64_t head = r->head; /* this CPU alone writes it */
    /* vmm copies the events, then stores tail (release): what it read is
     * free from here on. Loads are not reordered with later stores on x86,
     * so the acquire is a plain load. */
    if (head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= TRACE_RING_ENTRIES) {
        r->dropped++;
        return;
    }
    struct trace_event *e = &r->events[head % TRACE_RING_ENTRIES];
    e->tsc = tsc;
    e->type = (uint16_t)type;
    e->cpu = (uint16_t)cpu;
    e->arg0 = arg0;
    e->arg1 = arg1;
    e->arg2 = arg2;
    /* The event is whole before vmm can see it. */
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
}
