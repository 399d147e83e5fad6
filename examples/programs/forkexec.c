/* forkexec: fork, execve and wait, as the course follows them (section 3:
 * the child's first return from fork, the return to user mode after execve
 * loaded a new image).
 *
 *   1. fork; the child execve()s this same program (argv[0]: the guest has no
 *      /proc/self/exe) with the arguments "child hello world", which runs the
 *      child mode below: it prints its arguments and exits with status 7; the
 *      parent reports WIFEXITED and WEXITSTATUS.
 *   2. execve() of a file that does not exist fails with ENOENT and returns.
 *   3. fork; the child writes through a NULL pointer; the parent reports
 *      WIFSIGNALED and WTERMSIG (11, SIGSEGV). The bundled kernel also prints
 *      its own "proc pid=N killed signal=SIGSEGV ..." line for it.
 *
 * Run it by a path (./forkexec, /bin/forkexec): argv[0] is what it execs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_STATUS 7

extern char **environ;

static const char *errno_name(int e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ENOEXEC: return "ENOEXEC";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static void report(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("forkexec: %s: WIFEXITED=1 WEXITSTATUS=%d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("forkexec: %s: WIFSIGNALED=1 WTERMSIG=%d (%s)\n", what, WTERMSIG(status),
               WTERMSIG(status) == SIGSEGV ? "SIGSEGV" : "another signal");
    else
        printf("forkexec: %s: status 0x%x\n", what, (unsigned)status);
}

/* Forks; the child runs `child` and never returns. The parent waits for it. */
static int fork_and_wait(void (*child)(char **), char **argv, const char *what)
{
    fflush(stdout); /* or the child would print the parent's buffer again */
    pid_t pid = fork();
    if (pid < 0) {
        printf("forkexec: fork failed errno=%s\n", errno_name(errno));
        return -1;
    }
    if (pid == 0)
        child(argv);
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        printf("forkexec: waitpid failed errno=%s\n", errno_name(errno));
        return -1;
    }
    report(what, status);
    return status;
}

static void exec_self(char **argv)
{
    char *args[] = {argv[0], "child", "hello", "world", NULL};
    execve(argv[0], args, environ);
    printf("forkexec: execve %s failed errno=%s\n", argv[0], errno_name(errno));
    fflush(stdout);
    _exit(127);
}

static void null_write(char **argv)
{
    (void)argv;
    printf("forkexec: child writes through a NULL pointer\n");
    fflush(stdout);
    *(volatile int *)NULL = 1;
    _exit(126); /* not reached */
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("forkexec: child after execve: argc=%d", argc);
        for (int i = 1; i < argc; ++i)
            printf(" argv[%d]=%s", i, argv[i]);
        printf("\n");
        return CHILD_STATUS;
    }

    printf("forkexec: parent pid=%d\n", (int)getpid());
    int failures = 0;

    int status = fork_and_wait(exec_self, argv, "child that execs itself");
    failures += status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != CHILD_STATUS;

    char *missing[] = {"/nonexistent/program", NULL};
    int result = execve(missing[0], missing, environ);
    printf("forkexec: execve %s returned %d errno=%s\n", missing[0], result, errno_name(errno));
    failures += result != -1 || errno != ENOENT;

    status = fork_and_wait(null_write, argv, "child that writes through NULL");
    failures += status < 0 || !WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV;

    printf("forkexec: %s\n", failures ? "FAILED" : "done");
    return failures ? 1 : 0;
}
