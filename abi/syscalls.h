/* abi/syscalls.h - the bundled kernel's system calls from ring 3.
 *
 * Called by the guest's ring-3 tasks (guest-kernel/user/), carried out by its
 * kernel (guest-kernel/kernel/syscall.c); vmm only sees them in the trace
 * (TRACE_SYSCALL's arg0 is the number).
 *
 * int $0x80: rax = number, rdi/rsi/rdx = arguments, rax = result (a negative
 * errno on failure); every other register is preserved. */
#pragma once

/* Ring-3 code and data live in the one 2 MiB page mapped with U=1. */
#define USER_BASE 0x200000UL
#define USER_LIMIT 0x400000UL

#define SYS_EXIT 0
#define SYS_WRITE 1
#define SYS_YIELD 2
#define SYS_GETPID 3
#define SYS_TICKS 4     /* the jiffies */
#define SYS_SLEEP_MS 5  /* rdi = milliseconds; blocks the task */
#define SYS_WAIT_IRQ 6  /* rdi = GSI of an irqs= line; blocks until its next interrupt */
#define SYS_GETCPU 7    /* the CPU the task runs on */

#define E_BADF 9
#define E_FAULT 14
#define E_INVAL 22
#define E_NOSYS 38
