/* kernel/trace.h - the guest side of vmm's timeline trace (--trace): each
 * CPU appends events to its own ring in guest memory, which vmm drains
 * without an exit per event. The ABI is abi/trace.h; the protocol
 * and the events are in README.md, "Tracing".
 *
 * Without vmm's --trace the kernel records nothing: trace_event() is one
 * test of trace_on. Every call site runs with interrupts off (kernel code
 * does; see README, "Locks"), so nothing on the same CPU can interrupt a
 * record half-way, and each ring has exactly one writer: no lock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "abi/trace.h"

/* Set once, on the boot CPU, before the APs start: vmm takes the trace. */
extern bool trace_on;

/* Probes TRACE_PORT and, if vmm traces, registers the area (rings for CPUs
 * 0..ncpus-1) and syncs the clocks. Boot CPU, interrupts off, before the
 * APs start. */
void trace_init(unsigned ncpus);
/* Stores the TSC for vmm and tells it at once (TRACE_SYNC_PORT); nothing
 * without tracing. */
void trace_sync(void);
/* Appends one event to this CPU's ring, or counts it in dropped. Only
 * with trace_on; use trace_event(). */
void trace_record(uint32_t type, uint32_t arg0, uint64_t arg1, uint64_t arg2);

/* For call sites whose arguments cost something to compute. */
static inline bool tracing(void)
{
    return __builtin_expect(trace_on, 0);
}

static inline void trace_event(uint32_t type, uint32_t arg0, uint64_t arg1, uint64_t arg2)
{
    if (__builtin_expect(trace_on, 0))
        trace_record(type, arg0, arg1, arg2);
}

/* A task id for an event's task field: the idle tasks' -1 becomes
 * TRACE_NO_TASK (0xFFFFFFFF). */
static inline uint64_t trace_task(int id)
{
    return (uint32_t)id;
}

/* The GSI of the device line behind an interrupt vector, or TRACE_NO_GSI;
 * filled in where the lines are routed (PIT, COM1, irqs=). Inline: it is
 * on every traced interrupt's entry. */
void trace_set_vector_gsi(unsigned vector, uint32_t gsi);
extern uint32_t trace_gsi_of_vector[256]; /* GSI + 1; 0 (BSS): none */

static inline uint32_t trace_vector_gsi(unsigned vector)
{
    return trace_gsi_of_vector[vector & 0xFF] - 1; /* 0 - 1 is TRACE_NO_GSI */
}
