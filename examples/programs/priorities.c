/* priorities: what the O(1) scheduler (sched=o1) does with two CPU hogs of
 * different nice values and an interactive task beside them. The nice 0
 * hog gets 100 ms slices, the nice 19 one 5 ms; the sleeper, which sleeps
 * 10 ms and then works about 1 ms, earns a sleep average that makes its
 * dynamic priority better than the hogs' and preempts them when it wakes.
 * Each prints its CPU time at the end; run with --trace to watch it
 * (docs/o1-scheduler.md). Run time: argv[1] ms (default 2000). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void hog(int nice, long long until)
{
    setpriority(PRIO_PROCESS, 0, nice);
    volatile unsigned long spins = 0;
    while (now_us(CLOCK_MONOTONIC) < until)
        spins++;
    printf("priorities: hog nice=%d cpu_ms=%lld\n", nice, now_us(CLOCK_PROCESS_CPUTIME_ID) / 1000);
}

static void sleeper(long long until)
{
    struct timespec ten_ms = { 0, 10000000 };
    int naps = 0;
    while (now_us(CLOCK_MONOTONIC) < until) {
        nanosleep(&ten_ms, NULL);
        long long work_until = now_us(CLOCK_MONOTONIC) + 1000;
        volatile unsigned long spins = 0;
        while (now_us(CLOCK_MONOTONIC) < work_until)
            spins++;
        naps++;
    }
    printf("priorities: sleeper naps=%d cpu_ms=%lld\n", naps, now_us(CLOCK_PROCESS_CPUTIME_ID) / 1000);
}

int main(int argc, char **argv)
{
    long long run_ms = argc > 1 ? atoll(argv[1]) : 2000;
    setvbuf(stdout, NULL, _IONBF, 0);
    long long until = now_us(CLOCK_MONOTONIC) + run_ms * 1000;
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            if (i == 2)
                sleeper(until);
            else
                hog(i == 0 ? 0 : 19, until);
            return 0;
        }
    }
    while (wait(NULL) > 0) {
    }
    return 0;
}
