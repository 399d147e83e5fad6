/* initrd.c - newc cpio parsing (see initrd.h). The archive is the user's
 * input: every size in it is checked against the module's end. */
#include "kernel/initrd.h"

#include "arch/mmu.h"
#include "kernel/console.h"
#include "kernel/errno.h"
#include "lib/string.h"

#define NEWC_HEADER 110
#define S_IFMT 0170000
#define S_IFREG 0100000

static const uint8_t *archive;
static uint64_t archive_size;

struct entry {
    const char *name; /* without "./" or "/" in front */
    uint32_t mode;
    const uint8_t *data;
    uint64_t size;
};

/* An 8-digit hex field; false if it is not one. */
static bool hex_field(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t ch = p[i];
        uint32_t d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            d = ch - 'A' + 10;
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

static uint64_t align4(uint64_t v)
{
    return (v + 3) & ~3UL;
}

/* The entry at *pos: 1 (and *pos moves past it), 0 at the trailer, or -1
 * with *why set when the archive is malformed there. */
static int next_entry(uint64_t *pos, struct entry *e, const char **why)
{
    uint64_t p = *pos;
    uint32_t mode, filesize, namesize;
    const uint8_t *h = archive + p;
    if (p == archive_size) {
        *why = "no_trailer";
        return -1;
    }
    /* The magic first: a file that is no cpio at all is named as such. */
    if (archive_size - p < 6 || memcmp(h, "07070", 5) != 0 || (h[5] != '1' && h[5] != '2')) {
        *why = "not_newc";
        return -1;
    }
    if (archive_size - p < NEWC_HEADER) {
        *why = "truncated_header";
        return -1;
    }
    if (!hex_field(h + 14, &mode) || !hex_field(h + 54, &filesize) || !hex_field(h + 94, &namesize)) {
        *why = "bad_header_field";
        return -1;
    }
    uint64_t name_at = p + NEWC_HEADER;
    if (namesize == 0 || namesize > archive_size - name_at || archive[name_at + namesize - 1] != '\0') {
        *why = "bad_name";
        return -1;
    }
    uint64_t data_at = align4(name_at + namesize);
    if (data_at > archive_size || filesize > archive_size - data_at) {
        *why = "truncated_data";
        return -1;
    }
    const char *name = (const char *)archive + name_at;
    if (strcmp(name, "TRAILER!!!") == 0)
        return 0;
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    while (name[0] == '/')
        name++;
    e->name = name;
    e->mode = mode;
    e->data = archive + data_at;
    e->size = filesize;
    *pos = align4(data_at + filesize);
    if (*pos > archive_size)
        *pos = archive_size;
    return 1;
}

bool initrd_init(uint64_t start, uint64_t end)
{
    if (end <= start || end > DIRECT_SIZE) {
        kprintf("error initrd=module start=0x%lx end=0x%lx reason=outside_memory\n", start, end);
        return false;
    }
    archive = phys_to_virt(start);
    archive_size = end - start;
    uint64_t pos = 0, files = 0;
    struct entry e;
    const char *why = NULL;
    int r;
    while ((r = next_entry(&pos, &e, &why)) > 0)
        files += (e.mode & S_IFMT) == S_IFREG;
    if (r < 0) {
        kprintf("error initrd=cpio offset=%lu reason=%s\n", pos, why);
        archive = NULL;
        return false;
    }
    kprintf("initrd format=newc bytes=%lu files=%lu\n", archive_size, files);
    return true;
}

bool initrd_present(void)
{
    return archive != NULL;
}

long initrd_lookup(const char *path, struct initrd_file *out)
{
    if (!archive)
        return -ENOENT;
    while (path[0] == '/')
        path++;
    uint64_t pos = 0;
    struct entry e;
    const char *why;
    while (next_entry(&pos, &e, &why) > 0) {
        if (strcmp(e.name, path) != 0)
            continue;
        if ((e.mode & S_IFMT) != S_IFREG)
            return -EACCES;
        out->data = e.data;
        out->size = e.size;
        return 0;
    }
    return -ENOENT;
}
