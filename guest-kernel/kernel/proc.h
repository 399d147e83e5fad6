/* kernel/proc.h - processes: programs from the initrd, each in an address
 * space of its own, with a pid, a parent and an exit status (xv6's proc.c
 * in shape; fork, execve, exit and wait4 with Linux's semantics). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "kernel/trap.h"

struct task;

/* Linux's wait status: exited with `code`, or killed by `sig`. */
#define W_EXITED(code) (((code) & 0xFF) << 8)
#define W_SIGNALED(sig) ((sig) & 0x7F)

/* Program mode (init= given): process kernel stacks, and on the boot CPU
 * the first process. False after printing an error line. */
bool proc_init(void);
/* Each CPU, before it runs a process: SSE on, the SYSCALL entry armed. */
void proc_init_cpu(void);
/* pid 1 from init=, runnable on the boot CPU; false after an error line. */
bool proc_start_init(const char *init_line);

long proc_fork(struct trapframe *tf);
/* The live process with this pid (0: the caller), with the process table
 * locked (so it cannot be reaped) until proc_unlock(); or NULL, unlocked. */
struct task *proc_find_locked(int pid);
void proc_unlock(void);
long proc_wait4(int64_t pid, uint64_t status, int64_t options, uint64_t rusage);
__attribute__((noreturn)) void proc_exit(int wait_status);
/* A CPU exception in ring 3 of a process: a lazy page is faulted in and
 * the process goes on; anything else kills it with the signal Linux would
 * send. Returns only when the process goes on. */
void proc_user_fault(struct trapframe *tf);

/* Before a process runs on this CPU, and after it ran: its FPU/SSE
 * registers and its thread pointer (FS base). */
void proc_switch_out(struct task *t);
void proc_switch_in(struct task *t);
/* Just the thread pointer: execve gives the new image FS base 0. */
void proc_switch_in_fs(struct task *t);

struct proc_stats {
    uint64_t forks, execs, exits, killed, reaped;
};
const struct proc_stats *proc_stats(void);
void proc_count_exec(void);
void proc_summary(void);

/* execve (kernel/exec.c). The arguments are packed into one page before
 * the old image is replaced, so a failing execve returns to it intact. */
long exec_syscall(struct trapframe *tf, uint64_t path, uint64_t argv, uint64_t envp);
/* init's exec: `line` is "path arg...", split at spaces. */
long exec_init(struct task *t, struct trapframe *tf, const char *line);
