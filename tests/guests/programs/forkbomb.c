/* forkbomb: forks until fork() fails, then reaps every child and exits 0.
 *
 * Each child exits at once, but stays a zombie (a process the kernel keeps)
 * until the parent reaps it, so the process table fills. The first failure
 * prints "forkbomb: fork failed errno=EAGAIN" (Linux's and the bundled
 * kernel's answer when no process can be made), once. Then the parent reaps
 * with wait() until there is no child left and prints how many it forked and
 * reaped; status 0 when the failure was EAGAIN and every child was reaped.
 *
 * On a host, fork fails only at RLIMIT_NPROC (never for root), so it stops by
 * itself after LIMIT forks and says so (status 1). */
#include <errno.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIMIT 4096

static const char *errno_name(int e)
{
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

int main(void)
{
    printf("forkbomb: forking until fork fails\n");
    fflush(stdout);
    int forked = 0, failure = 0;
    while (forked < LIMIT) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0) {
            failure = errno;
            break;
        }
        ++forked;
    }
    if (failure)
        printf("forkbomb: fork failed errno=%s\n", errno_name(failure));
    else
        printf("forkbomb: no failure after %d forks\n", forked);
    fflush(stdout);

    int reaped = 0, status;
    while (wait(&status) > 0)
        ++reaped;
    int no_child = errno == ECHILD;
    printf("forkbomb: forked=%d reaped=%d\n", forked, reaped);
    return failure == EAGAIN && reaped == forked && forked > 0 && no_child ? 0 : 1;
}
