/* proc-costs: what a null system call, a fork and an execve cost, timed
 * from ring 3 with the TSC (tools/bench/run's "programs" part). The same
 * static binary runs under the bundled kernel and on the host's Linux, so
 * the two kernels are compared on one machine in one run.
 *
 *   proc-costs [rounds]     prints "cost op=NAME n=N cycles=C" per operation
 *   proc-costs --exit       exits at once (what the execve rounds run)
 *
 * fork is timed as fork + the child's _exit + waitpid; execve as fork +
 * execve of this program with --exit + waitpid, so execve alone is the
 * difference of the two. Cycles, not nanoseconds: the guest's clock has a
 * tick's resolution, and the TSC runs at the same rate for both kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline unsigned long long tsc(void)
{
    unsigned lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (unsigned long long)hi << 32 | lo;
}

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static unsigned long long start_cycles, start_ns;

static void begin(void)
{
    start_ns = now_ns();
    start_cycles = tsc();
}

/* Per operation: TSC cycles, and nanoseconds by CLOCK_MONOTONIC (whose
 * resolution is the guest's tick, hence many rounds). */
static void report(const char *op, int n)
{
    unsigned long long cycles = tsc() - start_cycles, ns = now_ns() - start_ns;
    printf("cost op=%s n=%d cycles=%llu ns=%llu\n", op, n, cycles / (unsigned long long)n,
           ns / (unsigned long long)n);
}

static void wait_for(pid_t pid)
{
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "proc-costs: child %d failed\n", (int)pid);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--exit") == 0)
        return 0;
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    if (rounds < 1)
        rounds = 1;

    int calls = rounds * 100;
    begin();
    for (int i = 0; i < calls; i++)
        syscall(SYS_getppid);
    report("null_syscall", calls);

    begin();
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        wait_for(pid);
    }
    report("fork_exit_wait", rounds);

    begin();
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = { argv[0], "--exit", NULL };
            execv(argv[0], args);
            _exit(127);
        }
        wait_for(pid);
    }
    report("fork_execve_exit_wait", rounds);
    return 0;
}
