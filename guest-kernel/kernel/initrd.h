/* kernel/initrd.h - the programs' file system: a newc cpio archive (what
 * Linux's initramfs is, and `cpio -o -H newc` writes), the first Multiboot
 * module, read in place through the direct map. Read-only: regular files
 * by path; directories and links are listed in the archive but not used. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct initrd_file {
    const uint8_t *data;
    uint64_t size;
};

/* The archive at physical [start, end). Checks every header once; false
 * after printing an error line when it is malformed. */
bool initrd_init(uint64_t start, uint64_t end);
bool initrd_present(void);
/* A regular file by absolute path ("/bin/x"; "bin/x" in the archive):
 * 0, -ENOENT, or -EACCES for what is not a regular file. */
long initrd_lookup(const char *path, struct initrd_file *out);
