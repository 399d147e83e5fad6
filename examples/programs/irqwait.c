/* irqwait: waits for a scripted interrupt line the way a Linux UIO driver's
 * user space does: open /dev/irq/<gsi>, then each 4-byte read() blocks until
 * the line fires and returns the line's total count of interrupts so far.
 *
 *   irqwait [GSI [N]]    GSI 5 and N 4 by default
 *
 * Reads until the count reaches N (one read per interrupt, unless two came
 * between reads) and prints each count. The line must be declared to the
 * bundled kernel (irqs=GSI on its command line) and to vmm (irq.lines in the
 * config), which fires it from its timeline: see irqwait.json. There is no
 * /dev/irq on a host; there it says so and exits with status 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int gsi = argc > 1 ? atoi(argv[1]) : 5;
    uint32_t wanted = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 4;
    char path[32];
    snprintf(path, sizeof path, "/dev/irq/%d", gsi);

    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("irqwait: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("irqwait: waiting for %u interrupts on %s\n", (unsigned)wanted, path);
    fflush(stdout);

    uint32_t count = 0;
    while (count < wanted) {
        uint32_t now;
        ssize_t n = read(fd, &now, sizeof now);
        if (n != (ssize_t)sizeof now) {
            printf("irqwait: read %s returned %d: %s\n", path, (int)n, n < 0 ? strerror(errno) : "short read");
            return 1;
        }
        if (now <= count) {
            printf("irqwait: count went from %u to %u\n", (unsigned)count, (unsigned)now);
            return 1;
        }
        count = now;
        printf("irqwait: gsi %d count %u\n", gsi, (unsigned)count);
        fflush(stdout);
    }
    close(fd);
    printf("irqwait: done\n");
    return 0;
}
