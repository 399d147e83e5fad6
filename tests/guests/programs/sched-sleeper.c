/* sched-sleeper: a task that sleeps 2 ms at a time beside a nice 0 CPU hog
 * (whose slice is 100 ms). Only wake-up preemption lets the sleeper run
 * soon after its timer: it prints how much longer than asked each sleep
 * took, as "oversleep p50_us=.. p90_us=.. max_us=..". */
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

#define SLEEPS 200

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    long long until = now_us() + 200000 + SLEEPS * 20000LL; /* the hog outlasts the sleeps */
    pid_t hog = fork();
    if (hog == 0) {
        volatile unsigned long spins = 0;
        while (now_us() < until)
            spins++;
        _exit(0);
    }
    static long long over[SLEEPS];
    struct timespec two_ms = { 0, 2000000 };
    for (int i = 0; i < SLEEPS; i++) {
        long long before = now_us();
        nanosleep(&two_ms, NULL);
        over[i] = now_us() - before - 2000;
    }
    qsort(over, SLEEPS, sizeof(over[0]), cmp);
    printf("oversleep p50_us=%lld p90_us=%lld max_us=%lld sleeps=%d\n", over[SLEEPS / 2], over[SLEEPS * 9 / 10],
           over[SLEEPS - 1], SLEEPS);
    int status;
    waitpid(hog, &status, 0);
    return 0;
}
