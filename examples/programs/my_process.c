/* my_process: the loop of mykernel's my_process (the lab of the course: four
 * processes in a ring, each printing "this is process N -", yielding when
 * asked, then printing "this is process N +"), as real processes.
 *
 * The parent forks three children; each counts ROUNDS rounds, printing its
 * "-" line, spinning a little, yielding with sched_yield() and printing its
 * "+" line, then exits with its number as status. The parent waits for each
 * child by pid, in the order it started them, then prints their statuses.
 *
 * Each child's lines come in order, but how the children's lines interleave
 * is the scheduler's choice; every line names its process, so output is
 * compared process by process (see README.md). stdout is line-buffered so
 * each line is one write(), whole on the console. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 3
#define ROUNDS 5
#define SPIN 200000 /* mykernel prints every 10,000,000; a little less here */

static void my_process(int n)
{
    for (int round = 0; round < ROUNDS; ++round) {
        printf("this is process %d - round %d\n", n, round);
        for (volatile int i = 0; i < SPIN; ++i) {
        }
        sched_yield();
        printf("this is process %d + round %d\n", n, round);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("my_process: parent pid=%d starts %d processes\n", (int)getpid(), CHILDREN);
    fflush(stdout);

    pid_t pids[CHILDREN];
    for (int n = 1; n <= CHILDREN; ++n) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            my_process(n);
            exit(n);
        }
        pids[n - 1] = pid;
    }

    int statuses[CHILDREN];
    for (int n = 1; n <= CHILDREN; ++n) {
        if (waitpid(pids[n - 1], &statuses[n - 1], 0) != pids[n - 1]) {
            perror("waitpid");
            return 1;
        }
    }
    int failures = 0;
    for (int n = 1; n <= CHILDREN; ++n) {
        int status = statuses[n - 1];
        if (WIFEXITED(status)) {
            printf("my_process: process %d pid=%d exited with status %d\n", n, (int)pids[n - 1], WEXITSTATUS(status));
            failures += WEXITSTATUS(status) != n;
        } else {
            printf("my_process: process %d pid=%d died of signal %d\n", n, (int)pids[n - 1], WTERMSIG(status));
            ++failures;
        }
    }
    printf("my_process: %s\n", failures ? "FAILED" : "all processes done");
    return failures ? 1 : 0;
}
