/* abi/debug_exit.h - how a guest ends the run.
 *
 * Written by the guest, read by vmm (devices/DebugExit.h): a byte v written
 * to DEBUG_EXIT_PORT ends the run, and `vmm run` exits with status v. QEMU's
 * isa-debug-exit at the same port exits with (v << 1) | 1, so one guest runs
 * under both.
 *
 * The codes below are the bundled kernel's (its `exit code=N` line prints the
 * same); any other guest may write what it likes. vmm's own statuses (a
 * config error, a crash, a timeout: docs/exit-status.md) sit above them. */
#pragma once

#define DEBUG_EXIT_PORT 0xF4

#define EXIT_OK 0
#define EXIT_TASK_FAILED 1
#define EXIT_BAD_OPTION 2
#define EXIT_EXCEPTION 3
#define EXIT_BAD_BOOT 4
#define EXIT_SELFTEST_FAILED 5  /* selftest probe failed, or a benchmark could not run */
#define EXIT_SYSCALL_IN_RING0 6 /* crash=syscall: SYSCALL from ring 3 reached its ring-0 entry */
