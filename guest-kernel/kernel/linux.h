/* kernel/linux.h - the Linux x86-64 system calls programs make (see
 * linux.c and README.md, "Programs"). */
#pragma once

#include <stdint.h>

#include "kernel/trap.h"

/* A syscall instruction from ring 3 (arch/isr.S built the trapframe). */
void linux_syscall(struct trapframe *tf);
uint64_t linux_syscall_count(void);
/* Reads the CMOS clock for CLOCK_REALTIME; before the first program. */
void linux_start_clock(void);
/* `syscalls linux=N enosys_NR=COUNT...`, for the run's end. */
void linux_summary(void);
