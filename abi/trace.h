/* abi/trace.h - the trace ABI between the bundled kernel and vmm:
 * per-CPU event rings in guest memory that vmm drains without an exit per
 * event. Written by the guest (guest-kernel/kernel/trace.c), read by vmm
 * (vmm/trace/, devices/TracePort.h), like a Linux
 * uapi header: fixed-width fields, no pointers, layout checked below.
 *
 * Protocol, on port TRACE_PORT (32-bit accesses):
 *   1. At boot the kernel reads the port. TRACE_PORT_ENABLED means vmm
 *      traces (--trace); any other value (0, or all-ones from a VMM without
 *      the port) means it does not, and the kernel records nothing.
 *   2. The kernel fills in the area's header (magic, version, ncpus,
 *      entries), then writes the area's physical address to the port.
 *   3. Each CPU writes its own ring: an event at events[head % entries],
 *      then head + 1 with release order. A ring whose head - tail would
 *      exceed entries is full: the event is counted in dropped instead.
 *      vmm alone writes tail, after it has copied the events.
 *   4. Time: events carry the CPU's TSC. To let vmm map TSC to its own
 *      clock, the kernel stores its TSC in sync_tsc and at once writes
 *      TRACE_SYNC to TRACE_SYNC_PORT; vmm pairs the value with the time of
 *      that exit. It does so once at registration and once at the end of
 *      the run (before the `total` line), so vmm can measure the drift.
 * vmm validates everything it reads here: the guest is untrusted. */
#pragma once

#include <stdint.h>

#define TRACE_PORT 0x524
#define TRACE_SYNC_PORT 0x528
#define TRACE_PORT_ENABLED 0x54524345u /* "ECRT" read as a little-endian dword */
#define TRACE_SYNC 1u
#define TRACE_AREA_MAGIC 0x31435254u /* "TRC1" */
#define TRACE_ABI_VERSION 1u
#define TRACE_MAX_CPUS 16u
#define TRACE_RING_ENTRIES 256u /* a power of two */
#define TRACE_NO_TASK 0xFFFFFFFFu /* the idle task, in task fields */
#define TRACE_NO_GSI 0xFFFFFFFFu

enum trace_event_type {
    TRACE_IRQ_ENTRY = 1,   /* arg0 vector, arg1 GSI (TRACE_NO_GSI when not a device line), arg2 task interrupted */
    TRACE_IRQ_EXIT = 2,    /* arg0 vector */
    TRACE_LINE_ACK = 3,    /* in a line's ISR: arg0 GSI, arg1 what port 0x520 answered (1 delivered, 0 spurious) */
    TRACE_WAKE = 4,        /* arg0 GSI that woke it (TRACE_NO_GSI: a timer), arg1 task, arg2 CPU it is queued on;
                            * also when a wait finds its line's interrupt already taken (it came first) */
    TRACE_SWITCH = 5,      /* arg0 enum trace_switch_reason, arg1 prev task, arg2 next task; under
                            * sched=o1 each task field also carries TRACE_SWITCH_O1 (bit 48), the
                            * task's priority (bits 32-39) and, for prev, the array it went to
                            * (bits 40-41: 0 none, 1 active, 2 expired) */
    TRACE_SYSCALL = 6,     /* arg0 system call number, arg1 task */
    TRACE_TASK_START = 7,  /* the task's first run: arg1 task, arg2 kind (0 worker, 1 waiter, 2 sleeper, 4 process) */
    TRACE_TASK_EXIT = 8,   /* arg1 task */
    /* Processes (programs from the initrd); their task ids are their pids. */
    TRACE_PROC_FORK = 9,   /* arg1 parent pid (0: the kernel, for init), arg2 child pid */
    TRACE_PROC_EXEC = 10,  /* arg1 pid: a new image replaced its old one */
    TRACE_PROC_EXIT = 11,  /* arg0 wait status (Linux's encoding), arg1 pid: now a zombie */
    TRACE_PROC_WAIT = 12,  /* arg0 wait status, arg1 parent pid, arg2 child pid reaped */
};

enum trace_switch_reason {
    TRACE_SWITCH_SLICE = 1,  /* prev's time slice was used up */
    TRACE_SWITCH_BLOCK = 2,  /* prev blocked (wait for a line, sleep) */
    TRACE_SWITCH_WOKEN = 3,  /* a woken task was queued at the head and preempts prev */
    TRACE_SWITCH_EXIT = 4,   /* prev exited */
    TRACE_SWITCH_IDLE = 5,   /* prev is the idle task and work arrived (start, balance) */
    TRACE_SWITCH_OTHER = 6,
    TRACE_SWITCH_YIELD = 7,  /* sched=o1: prev called sched_yield() */
};

#define TRACE_SWITCH_O1 (1ULL << 48)
#define TRACE_SWITCH_TASK(field) ((field) & 0xFFFFFFFFULL)
#define TRACE_SWITCH_PRIO(field) ((unsigned)((field) >> 32) & 0xFF)
#define TRACE_SWITCH_ARRAY(field) ((unsigned)((field) >> 40) & 0x3)

struct trace_event {
    uint64_t tsc;
    uint16_t type; /* enum trace_event_type */
    uint16_t cpu;  /* the CPU index (the ring's), kept for a reader of raw dumps */
    uint32_t arg0;
    uint64_t arg1;
    uint64_t arg2;
};

struct trace_ring {
    volatile uint64_t head;    /* events written by the CPU */
    volatile uint64_t tail;    /* events consumed by vmm */
    volatile uint64_t dropped; /* events the CPU found no room for */
    uint64_t reserved[5];
    struct trace_event events[TRACE_RING_ENTRIES];
};

struct trace_area {
    uint32_t magic;   /* TRACE_AREA_MAGIC */
    uint32_t version; /* TRACE_ABI_VERSION */
    uint32_t ncpus;   /* rings in use, <= TRACE_MAX_CPUS */
    uint32_t entries; /* TRACE_RING_ENTRIES */
    volatile uint64_t sync_tsc;
    uint64_t reserved[5];
    struct trace_ring rings[TRACE_MAX_CPUS];
};

#ifdef __cplusplus
#define TRACE_ABI_ASSERT static_assert
#else
#define TRACE_ABI_ASSERT _Static_assert
#endif
TRACE_ABI_ASSERT(sizeof(struct trace_event) == 32, "trace_event layout");
TRACE_ABI_ASSERT(sizeof(struct trace_ring) == 64 + 32 * TRACE_RING_ENTRIES, "trace_ring layout");
TRACE_ABI_ASSERT(sizeof(struct trace_area) == 64 + TRACE_MAX_CPUS * sizeof(struct trace_ring), "trace_area layout");
