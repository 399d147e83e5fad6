/* sched-fifo: a SCHED_FIFO hog at real-time priority 50 beside a nice -20
 * hog over the same 0.5 s: the real-time one runs whenever it is runnable,
 * so it gets (almost) all of the CPU. Prints "hog policy=P cpu_ms=M". The
 * policy is set with the raw system call: musl's sched_setscheduler() is
 * ENOSYS by design (Linux's is per thread, POSIX's per process). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    long long window_ms = argc > 1 ? atoll(argv[1]) : 500;
    setvbuf(stdout, NULL, _IONBF, 0);
    /* The parent outranks both while it starts them, so both start. */
    struct sched_param top = { .sched_priority = 60 };
    if (syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &top) != 0) {
        perror("sched_setscheduler(parent)");
        return 1;
    }
    long long until = now_ms(CLOCK_MONOTONIC) + window_ms;
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] != 0)
            continue;
        struct sched_param param = { .sched_priority = i == 0 ? 50 : 0 };
        int policy = i == 0 ? SCHED_FIFO : SCHED_OTHER;
        if (syscall(SYS_sched_setscheduler, 0, policy, &param) != 0 ||
            (i == 1 && setpriority(PRIO_PROCESS, 0, -20) != 0)) {
            perror("priority");
            _exit(1);
        }
        volatile unsigned long spins = 0;
        while (now_ms(CLOCK_MONOTONIC) < until)
            spins++;
        printf("hog policy=%s cpu_ms=%lld\n", i == 0 ? "fifo50" : "nice-20", now_ms(CLOCK_PROCESS_CPUTIME_ID));
        _exit(0);
    }
    int status;
    waitpid(pids[0], &status, 0);
    waitpid(pids[1], &status, 0);
    printf("sched-fifo: done window_ms=%lld\n", window_ms);
    return 0;
}
