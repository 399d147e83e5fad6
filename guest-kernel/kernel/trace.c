/* trace.c - per-CPU event rings for vmm's timeline trace (see trace.h and
 * README, "Tracing"). Linux's ftrace ring buffer in miniature: a writer
 * per CPU that never takes a lock, a reader (vmm) that owns the tail, and
 * a full ring that drops and counts rather than overwrites.
 *
 * Ring 0 runs in KVM's instruction emulator here (about 0.7 us an
 * instruction, more for one that touches memory, 2 us an rdtsc), so
 * trace_record is kept to its minimum: head, room check against tail, one
 * 32-byte event, head + 1. */
#include "kernel/trace.h"

#include <stddef.h>

#include "arch/x86.h"
#include "kernel/sched.h"

bool trace_on;

/* In BSS (the Multiboot loader zeroes it): head, tail and dropped start
 * at 0. 132 KiB; the kernel still ends below the user page. */
/* Not static: trace_record (assembly, below) names it. */
struct trace_area trace_buffer __attribute__((aligned(64)));

uint32_t trace_gsi_of_vector[256];

void trace_set_vector_gsi(unsigned vector, uint32_t gsi)
{
    trace_gsi_of_vector[vector & 0xFF] = gsi + 1;
}

void trace_init(unsigned ncpus)
{
    /* All-ones from a VMM without the port, 0 from vmm without --trace. */
    if (inl(TRACE_PORT) != TRACE_PORT_ENABLED)
        return;
    trace_buffer.magic = TRACE_AREA_MAGIC;
    trace_buffer.version = TRACE_ABI_VERSION;
    trace_buffer.ncpus = ncpus < TRACE_MAX_CPUS ? ncpus : TRACE_MAX_CPUS;
    trace_buffer.entries = TRACE_RING_ENTRIES;
    __asm__ volatile("" ::: "memory"); /* the header is complete before vmm sees the address */
    outl(TRACE_PORT, (uint32_t)(uint64_t)&trace_buffer);
    trace_on = true;
    trace_sync();
}

void trace_sync(void)
{
    if (!trace_on)
        return;
    trace_buffer.sync_tsc = rdtsc();
    outl(TRACE_SYNC_PORT, TRACE_SYNC);
}

/* trace_record(type, arg0, arg1, arg2), in assembly: gcc's version took
 * 33 instructions with 17 memory accesses (spilled registers, the ring's
 * address computed by shifts through the stack), this one 28 with 10, and
 * each memory access is what costs most in the instruction emulator
 * (measured: 25 us an event in C, 19 us here). In C it would read:
 *
 *     uint64_t tsc = rdtsc();
 *     unsigned cpu = current()->cpu;
 *     struct trace_ring *r = &trace_buffer.rings[cpu];
 *     uint64_t head = r->head;
 *     if (head - r->tail >= TRACE_RING_ENTRIES) { r->dropped++; return; }
 *     struct trace_event *e = &r->events[head % TRACE_RING_ENTRIES];
 *     e->tsc = tsc;
 *     (type, cpu, arg0 in one 64-bit store)
 *     e->arg1 = arg1; e->arg2 = arg2;
 *     r->head = head + 1;  (after the event: x86 keeps stores in order)
 *
 * Only caller-saved registers are used. The offsets are checked below. */
_Static_assert(offsetof(struct task, cpu) == 20, "trace_record: task.cpu");
_Static_assert(KSTACK_SIZE == 8192, "trace_record: current()");
_Static_assert(offsetof(struct trace_area, rings) == 64, "trace_record: trace_buffer.rings");
_Static_assert(sizeof(struct trace_ring) == 8256, "trace_record: ring size");
_Static_assert(offsetof(struct trace_ring, head) == 0 && offsetof(struct trace_ring, tail) == 8 &&
                   offsetof(struct trace_ring, dropped) == 16 && offsetof(struct trace_ring, events) == 64,
               "trace_record: ring fields");
_Static_assert(offsetof(struct trace_event, type) == 8 && offsetof(struct trace_event, cpu) == 10 &&
                   offsetof(struct trace_event, arg0) == 12 && offsetof(struct trace_event, arg1) == 16 &&
                   offsetof(struct trace_event, arg2) == 24,
               "trace_record: event fields");
_Static_assert(TRACE_RING_ENTRIES == 256, "trace_record: head % entries is head's low byte");

__asm__(
    "    .text\n"
    "    .globl trace_record\n"
    "    .type trace_record, @function\n"
    "trace_record:\n"          /* edi type, esi arg0, rdx arg1, rcx arg2 */
    "    movq %rdx, %r8\n"     /* arg1: rdtsc takes rdx */
    "    rdtsc\n"
    "    shlq $32, %rdx\n"
    "    orq %rax, %rdx\n"     /* rdx = tsc */
    "    movq %rsp, %rax\n"
    "    andq $-8192, %rax\n"
    "    movl 20(%rax), %eax\n" /* cpu = current()->cpu */
    "    imulq $8256, %rax, %r9\n"
    "    leaq trace_buffer+64(%r9), %r9\n" /* r9 = ring */
    "    movq (%r9), %r10\n"   /* head */
    "    movq %r10, %r11\n"
    "    subq 8(%r9), %r11\n"  /* head - tail */
    "    cmpq $255, %r11\n"
    "    ja 1f\n"
    "    movzbl %r10b, %r11d\n"
    "    shlq $5, %r11\n"
    "    leaq 64(%r9,%r11), %r11\n" /* r11 = &events[head % 256] */
    "    movq %rdx, (%r11)\n"  /* tsc */
    "    movl %edi, %edi\n"    /* type: the ABI leaves the upper half undefined */
    "    shlq $16, %rax\n"
    "    orq %rax, %rdi\n"
    "    shlq $32, %rsi\n"
    "    orq %rsi, %rdi\n"
    "    movq %rdi, 8(%r11)\n" /* type, cpu, arg0 */
    "    movq %r8, 16(%r11)\n"
    "    movq %rcx, 24(%r11)\n"
    "    incq %r10\n"
    "    movq %r10, (%r9)\n"   /* head + 1: the event is whole before vmm sees it */
    "    ret\n"
    "1:  incq 16(%r9)\n"      /* full: dropped++ */
    "    ret\n"
    "    .size trace_record, .-trace_record\n");
