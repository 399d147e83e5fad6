/* kernel/file.h - what a process's file descriptor refers to. Each
 * descriptor has its own offset (fork copies them; there is no shared
 * open file description, as nothing here is written or seeked twice). */
#pragma once

#include <stdint.h>

enum file_kind {
    FILE_NONE,
    FILE_CONSOLE, /* the serial console: stdin (end of file), stdout, stderr */
    FILE_INITRD,  /* a file of the initrd, read-only, in place */
    FILE_IRQ,     /* /dev/irq/<gsi>: read() waits for the line, as Linux's UIO */
};

struct file {
    uint8_t kind; /* enum file_kind */
    int8_t line;  /* FILE_IRQ: index of the irqs= line */
    const uint8_t *data; /* FILE_INITRD */
    uint64_t size;
    uint64_t offset;
};
