/* hostile: run as init (pid 1) by the bundled kernel, it runs programs that
 * misbehave and reports how each ended, from the same folder as itself
 * (/bin in the guest):
 *
 *   segv      writes to 0x10: the parent sees WTERMSIG 11 (SIGSEGV)
 *   ud        executes ud2: WTERMSIG 4 (SIGILL)
 *   forkbomb  fills the process table, reaps it: its exit status (0)
 *   spin      loops forever; after 100 ms it is still running, and hostile
 *             exits 0 with spin still there: the run ends with pid 1
 *
 * The kernel prints a "proc pid=N killed signal=..." line for each program
 * it kills. Not meant for a host: forkbomb fills the process table (up to
 * its own limit). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char folder[256];

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGILL: return "SIGILL";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    default: return "another signal";
    }
}

/* Forks and execs folder/name; returns the child's pid, or -1. */
static pid_t start(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("hostile: fork for %s failed errno=%d\n", name, errno);
        return -1;
    }
    if (pid == 0) {
        char *args[] = {path, NULL};
        execve(path, args, environ);
        printf("hostile: execve %s failed errno=%d\n", path, errno);
        fflush(stdout);
        _exit(127);
    }
    return pid;
}

/* Runs `name` to its end and prints how it ended; returns the wait status. */
static int run(const char *name)
{
    pid_t pid = start(name);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        printf("hostile: %s: no status\n", name);
        return -1;
    }
    if (WIFSIGNALED(status))
        printf("hostile: %s killed by signal %d (%s)\n", name, WTERMSIG(status), signal_name(WTERMSIG(status)));
    else if (WIFEXITED(status))
        printf("hostile: %s exited with status %d\n", name, WEXITSTATUS(status));
    return status;
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    if (slash)
        snprintf(folder, sizeof folder, "%.*s", (int)(slash - argv[0]), argv[0]);
    else
        snprintf(folder, sizeof folder, ".");
    printf("hostile: pid=%d running segv, ud, forkbomb and spin from %s\n", (int)getpid(), folder);

    run("segv");
    run("ud");
    run("forkbomb");

    pid_t spin = start("spin");
    const struct timespec hundred_ms = {0, 100 * 1000 * 1000};
    nanosleep(&hundred_ms, NULL);
    int status;
    if (spin > 0 && waitpid(spin, &status, WNOHANG) == 0)
        printf("hostile: spin still running\n");
    else
        printf("hostile: spin is gone\n");
    printf("hostile: done\n");
    return 0;
}
