/* sched-cost N YIELDS: N runnable processes (this one and N - 1 children),
 * each calling sched_yield() YIELDS times, so the kernel's schedule() runs
 * some N * YIELDS times with N tasks on its run queue. The kernel's own
 * "sched cpu=..." line at the end has what tools/bench/run reports: the TSC
 * cycles per schedule() of its queue work (picks, pick_cycles). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2, yields = argc > 2 ? atoi(argv[2]) : 100;
    for (int i = 1; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            break;
    }
    for (int i = 0; i < yields; i++)
        sched_yield();
    while (wait(NULL) > 0) {
    }
    return 0;
}
