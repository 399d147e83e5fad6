/* abi.h - what ring 0 and ring 3 of the bundled kernel agree on beyond the
 * system calls (abi/syscalls.h): the layout of the vvar page and the task
 * bodies. Included by user.c, so nothing here may reference kernel code or
 * data. */
#pragma once

#include "abi/lines.h"
#include "abi/syscalls.h"

#define USER_CRASH_CLI 1
#define USER_CRASH_SYSCALL 2

#include <stdint.h>

#define MAX_TASKS 16

#define USTACK_SIZE 16384

/* Written by the kernel (config at boot, counters on every tick), read by
 * tasks without a syscall. Read-only for tasks by convention: it sits in
 * the user page, which is writable. */
struct vvar {
    volatile uint64_t ticks;                 /* the jiffies */
    volatile uint64_t task_ticks[MAX_TASKS]; /* ticks each task has run */
    uint32_t hz;
    uint32_t progress_ms;
    uint32_t task_ms;
    uint32_t crash_user; /* USER_CRASH_CLI or USER_CRASH_SYSCALL in task 0; 0: none */
    uint32_t wake_log;                /* waiters print every Nth wake-up; 0: none */
    uint32_t wake_mark;               /* waiters write WAKE_MARK_PORT on each wake-up */
    uint16_t waiter_gsi[MAX_TASKS];   /* the line each waiter waits on */
    uint32_t nap_ms;                  /* sleepers: how long each sleep is */
};

/* Written by tasks, read by the kernel for the summary lines. */
struct ustats {
    volatile uint64_t work[MAX_TASKS];     /* compute batches completed */
    volatile uint64_t checksum[MAX_TASKS]; /* keeps the compute loop live */
};

extern struct vvar vvar;
extern struct ustats ustats;
extern uint8_t user_stacks[MAX_TASKS][USTACK_SIZE];
void user_task_main(long id) __attribute__((noreturn));
/* waiters=: waits for its line's interrupts for ever, printing wake lines. */
void user_waiter_main(long id) __attribute__((noreturn));
/* sleepers=: sleeps nap_ms at a time, for ever. */
void user_sleeper_main(long id) __attribute__((noreturn));
/* bench=serial: writes exactly `bytes` bytes of text lines, then exit(0). */
void user_bench_serial_main(long bytes) __attribute__((noreturn));

/* The payload of bench=serial: 64-byte lines, an 8-digit decimal line
 * number, a space, BENCH_LINE_TEXT and a newline; the last line is cut to
 * fit and still ends with a newline. */
#define BENCH_LINE_LEN 64
#define BENCH_LINE_TEXT "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01"
#define BENCH_CHUNK 4096
