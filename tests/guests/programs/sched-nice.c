/* sched-nice: two CPU hogs over the same 3 s, nice 0 and nice 19, each
 * reading its own CPU time (CLOCK_PROCESS_CPUTIME_ID) at the end; the O(1)
 * scheduler's slices (100 ms against 5 ms) give the nice 0 one about 20
 * times as much. Prints "hog nice=N cpu_ms=M" per hog and the ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static pid_t hog(int nice, long long until_ms, int pipe_fd)
{
    (void)pipe_fd;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (setpriority(PRIO_PROCESS, 0, nice) != 0) {
        perror("setpriority");
        _exit(1);
    }
    volatile unsigned long spins = 0;
    while (now_ms(CLOCK_MONOTONIC) < until_ms)
        spins++;
    printf("hog nice=%d cpu_ms=%lld\n", nice, now_ms(CLOCK_PROCESS_CPUTIME_ID));
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv)
{
    long long window_ms = argc > 1 ? atoll(argv[1]) : 3000;
    setvbuf(stdout, NULL, _IONBF, 0);
    long long until = now_ms(CLOCK_MONOTONIC) + window_ms;
    pid_t a = hog(0, until, -1), b = hog(19, until, -1);
    int status;
    waitpid(a, &status, 0);
    waitpid(b, &status, 0);
    printf("sched-nice: done window_ms=%lld\n", window_ms);
    return 0;
}
