/* spin: loops in user mode without a system call, so only the timer takes
 * its CPU away. hostile.c leaves it running when it exits, which on the
 * bundled kernel ends the run. Every 100 million iterations it checks whether
 * its parent is gone (reparented), so on a host it does not outlive the run. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    pid_t parent = getppid();
    printf("spin: spinning\n");
    fflush(stdout);
    for (;;) {
        for (volatile unsigned long i = 0; i < 100000000ul; ++i) {
        }
        if (getppid() != parent)
            return 0;
    }
}
