/* kernel/exit.h - how the run ends: the exit codes written to debug-exit
 * (documented in README.md). */
#pragma once

#define EXIT_OK 0
#define EXIT_TASK_FAILED 1
#define EXIT_BAD_OPTION 2
#define EXIT_EXCEPTION 3
#define EXIT_BAD_BOOT 4
#define EXIT_SELFTEST_FAILED 5 /* selftest probe failed, or a benchmark could not run */
#define EXIT_SYSCALL_IN_RING0 6 /* crash=syscall: SYSCALL from ring 3 reached its ring-0 entry */

/* Prints `exit code=N` and writes debug-exit; from any CPU. */
__attribute__((noreturn)) void kernel_exit(int code);
