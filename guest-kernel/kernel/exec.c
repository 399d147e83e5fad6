/* exec.c - execve: a static ELF64 program from the initrd replaces the
 * process's image (xv6's exec.c in shape, Linux's binfmt_elf.c in what it
 * gives the program).
 *
 * The new address space is built completely before the old one is let go,
 * so every failure (ENOENT, ENOEXEC, E2BIG, ENOMEM) returns to the old
 * image intact. Segments are copied from the archive (it stays read-only);
 * the stack is lazy, with argc, argv, envp and the auxiliary vector at its
 * top as the x86-64 psABI lays them out: musl finds its program headers
 * (and TLS) through AT_PHDR, and seeds its stack protector from AT_RANDOM. */
#include "arch/cpu.h"
#include "arch/mmu.h"
#include "kernel/errno.h"
#include "kernel/initrd.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/trace.h"
#include "lib/string.h"

#define ET_EXEC 2
#define ET_DYN 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PF_W 2

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31

#define MAX_PHDRS 64
#define MAX_ARG_STRINGS 256
/* Room for what build_stack writes: the random bytes, the path, the packed
 * strings (a page at most) and the pointers (MAX_ARG_STRINGS + the auxv). */
#define STACK_ARGS_PAGES 3

struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* argv and envp, packed NUL-separated into one page. */
struct exec_args {
    uint32_t argc, envc;
    uint32_t used;
    char path[256];
    char strings[PAGE_SIZE - 3 * sizeof(uint32_t) - 256];
};

/* ---- the image ------------------------------------------------------------ */

struct image {
    struct elf64_ehdr eh;
    uint64_t bias; /* static-PIE (ET_DYN) programs are placed at the window's base */
    uint64_t phdr_va;
    uint64_t end;  /* the highest segment end: the heap starts after it */
};

static struct elf64_phdr phdr_at(const struct initrd_file *f, const struct image *im, unsigned i)
{
    struct elf64_phdr ph;
    memcpy(&ph, f->data + im->eh.phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
    return ph;
}

/* Everything exec trusts about the file, checked before anything is
 * mapped: ENOEXEC for whatever Linux would not run either (or we cannot). */
static long check_image(const struct initrd_file *f, struct image *im)
{
    if (f->size < sizeof(im->eh))
        return -ENOEXEC;
    memcpy(&im->eh, f->data, sizeof(im->eh));
    const struct elf64_ehdr *eh = &im->eh;
    if (memcmp(eh->ident, "\x7F" "ELF", 4) != 0 || eh->ident[4] != 2 /* 64-bit */ ||
        eh->ident[5] != 1 /* little-endian */ || eh->ident[6] != 1)
        return -ENOEXEC;
    if ((eh->type != ET_EXEC && eh->type != ET_DYN) || eh->machine != EM_X86_64 ||
        eh->phentsize != sizeof(struct elf64_phdr) || eh->phnum == 0 || eh->phnum > MAX_PHDRS ||
        eh->phoff > f->size || (uint64_t)eh->phnum * sizeof(struct elf64_phdr) > f->size - eh->phoff)
        return -ENOEXEC;
    im->bias = eh->type == ET_DYN ? USER_WINDOW_BASE : 0;
    im->phdr_va = 0;
    im->end = 0;
    bool entry_loaded = false, any_load = false;
    for (unsigned i = 0; i < eh->phnum; i++) {
        struct elf64_phdr ph = phdr_at(f, im, i);
        if (ph.type == PT_INTERP)
            return -ENOEXEC; /* dynamically linked: no loader here */
        if (ph.type == PT_PHDR)
            im->phdr_va = ph.vaddr + im->bias;
        if (ph.type != PT_LOAD)
            continue;
        uint64_t va = ph.vaddr + im->bias;
        if (ph.filesz > ph.memsz || ph.offset > f->size || ph.filesz > f->size - ph.offset ||
            va < ph.vaddr || va < USER_WINDOW_BASE || va > USER_MMAP_TOP ||
            ph.memsz > USER_MMAP_TOP - va)
            return -ENOEXEC;
        any_load = true;
        if (va + ph.memsz > im->end)
            im->end = va + ph.memsz;
        if (eh->entry + im->bias >= va && eh->entry + im->bias < va + ph.memsz)
            entry_loaded = true;
        if (!im->phdr_va && eh->phoff >= ph.offset && eh->phoff < ph.offset + ph.filesz)
            im->phdr_va = va + (eh->phoff - ph.offset);
    }
    return any_load && entry_loaded ? 0 : -ENOEXEC;
}

static long load_segments(struct mm *m, const struct initrd_file *f, const struct image *im)
{
    for (unsigned i = 0; i < im->eh.phnum; i++) {
        struct elf64_phdr ph = phdr_at(f, im, i);
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        uint64_t va = ph.vaddr + im->bias;
        uint64_t start = va & PAGE_MASK, end = (va + ph.memsz + PAGE_SIZE - 1) & PAGE_MASK;
        /* Pages come zeroed: what follows the file's bytes is the bss. */
        if (!mm_map(m, start, end - start, ph.flags & PF_W, false))
            return -ENOMEM;
        mm_write(m, va, f->data + ph.offset, ph.filesz);
    }
    return 0;
}

/* ---- the stack ------------------------------------------------------------ */

static void put_word(struct mm *m, uint64_t *sp, uint64_t v)
{
    mm_write(m, *sp, &v, sizeof(v));
    *sp += sizeof(v);
}

/* From the top down: AT_RANDOM's 16 bytes, the strings, then (16-byte
 * aligned, as _start expects rsp) argc, argv[], NULL, envp[], NULL and
 * the auxiliary vector. Returns the initial rsp. */
static uint64_t build_stack(struct mm *m, const struct exec_args *a, const struct image *im)
{
    uint64_t top = USER_STACK_TOP;
    uint64_t random[2] = { rdtsc() * 0x9E3779B97F4A7C15ULL, (uint64_t)a * 0xC2B2AE3D27D4EB4FULL ^ rdtsc() };
    top -= sizeof(random);
    uint64_t random_at = top;
    mm_write(m, random_at, random, sizeof(random));
    size_t path_len = strlen(a->path) + 1;
    top -= path_len;
    uint64_t execfn_at = top;
    mm_write(m, execfn_at, a->path, path_len);
    top -= a->used;
    uint64_t strings_at = top;
    mm_write(m, strings_at, a->strings, a->used);

    const uint64_t aux[][2] = {
        { AT_PHDR, im->phdr_va }, { AT_PHENT, sizeof(struct elf64_phdr) },
        { AT_PHNUM, im->eh.phnum }, { AT_PAGESZ, PAGE_SIZE },
        { AT_BASE, 0 }, { AT_FLAGS, 0 },
        { AT_ENTRY, im->eh.entry + im->bias }, { AT_UID, 0 },
        { AT_EUID, 0 }, { AT_GID, 0 },
        { AT_EGID, 0 }, { AT_CLKTCK, 100 },
        { AT_SECURE, 0 }, { AT_RANDOM, random_at },
        { AT_EXECFN, execfn_at }, { AT_NULL, 0 },
    };
    uint64_t words = 1 + a->argc + 1 + a->envc + 1 + 2 * (sizeof(aux) / sizeof(aux[0]));
    uint64_t sp = ((top & ~15UL) - words * 8) & ~15UL;
    uint64_t p = sp;
    put_word(m, &p, a->argc);
    uint64_t s = strings_at;
    for (uint32_t i = 0; i < a->argc + a->envc; i++) {
        put_word(m, &p, s);
        s += strlen(a->strings + (s - strings_at)) + 1;
        if (i + 1 == a->argc)
            put_word(m, &p, 0); /* argv's end */
    }
    if (a->argc == 0)
        put_word(m, &p, 0);
    put_word(m, &p, 0); /* envp's end */
    for (unsigned i = 0; i < sizeof(aux) / sizeof(aux[0]); i++) {
        put_word(m, &p, aux[i][0]);
        put_word(m, &p, aux[i][1]);
    }
    return sp;
}

/* ---- exec ----------------------------------------------------------------- */

static void set_name(struct task *t, const char *path)
{
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            base = p + 1;
    size_t n = strlen(base);
    if (n >= sizeof(t->name))
        n = sizeof(t->name) - 1;
    memcpy(t->name, base, n);
    t->name[n] = '\0';
}

/* Replaces t's image with a->path. t is current (execve), or not running
 * yet (init). */
static long exec_args_load(struct task *t, struct trapframe *tf, const struct exec_args *a)
{
    struct initrd_file f;
    long err = initrd_lookup(a->path, &f);
    if (err < 0)
        return err;
    struct image im;
    if ((err = check_image(&f, &im)) < 0)
        return err;

    struct mm m;
    if (!mm_create(&m))
        return -ENOMEM;
    /* The top of the stack, where the arguments go, now; the rest of the
     * stack as the program touches it. */
    if ((err = load_segments(&m, &f, &im)) < 0 ||
        !mm_map(&m, USER_STACK_TOP - STACK_ARGS_PAGES * PAGE_SIZE, STACK_ARGS_PAGES * PAGE_SIZE, true, false)) {
        mm_destroy(&m);
        return err < 0 ? err : -ENOMEM;
    }
    m.brk_base = m.brk = (im.end + PAGE_SIZE - 1) & PAGE_MASK;
    uint64_t sp = build_stack(&m, a, &im);

    /* The point of no return: the old image goes. */
    struct mm old = t->mm;
    t->mm = m;
    t->fs_base = 0; /* the new image sets its own thread pointer */
    if (t == current()) {
        write_cr3(m.pml4);
        proc_switch_in_fs(t);
    }
    mm_destroy(&old);
    set_name(t, a->path);
    memset(tf, 0, sizeof(*tf));
    tf->rip = im.eh.entry + im.bias;
    tf->cs = USER_CS;
    tf->rflags = 0x202; /* IF */
    tf->rsp = sp;
    tf->ss = USER_DS;
    proc_count_exec();
    trace_event(TRACE_PROC_EXEC, 0, trace_task(t->id), 0);
    return 0;
}

/* Appends a string to the packed arguments: false when they are full. */
static bool add_string(struct exec_args *a, const char *s, size_t n)
{
    if (a->argc + a->envc >= MAX_ARG_STRINGS || n + 1 > sizeof(a->strings) - a->used)
        return false;
    memcpy(a->strings + a->used, s, n);
    a->strings[a->used + n] = '\0';
    a->used += (uint32_t)n + 1;
    return true;
}

/* A user array of string pointers (argv or envp; NULL is an empty one)
 * into the packed arguments. */
static long add_user_strings(struct exec_args *a, uint64_t array, uint32_t *count)
{
    for (uint64_t i = 0; array; i++) {
        uint64_t p;
        if (copy_from_user(&p, array + i * 8, sizeof(p)) < 0)
            return -EFAULT;
        if (!p)
            break;
        if (a->argc + a->envc >= MAX_ARG_STRINGS)
            return -E2BIG;
        long n = string_from_user(a->strings + a->used, p, sizeof(a->strings) - a->used);
        if (n == -ENAMETOOLONG)
            return -E2BIG;
        if (n < 0)
            return n;
        a->used += (uint32_t)n + 1;
        (*count)++;
    }
    return 0;
}

long exec_syscall(struct trapframe *tf, uint64_t path, uint64_t argv, uint64_t envp)
{
    struct exec_args *a = page_alloc();
    if (!a)
        return -ENOMEM;
    long err = string_from_user(a->path, path, sizeof(a->path));
    if (err >= 0 && (err = add_user_strings(a, argv, &a->argc)) >= 0 &&
        (err = add_user_strings(a, envp, &a->envc)) >= 0)
        err = exec_args_load(current(), tf, a);
    page_free(a);
    return err;
}

long exec_init(struct task *t, struct trapframe *tf, const char *line)
{
    struct exec_args *a = page_alloc();
    if (!a)
        return -ENOMEM;
    long err = 0;
    const char *p = line;
    while (*p && err == 0) {
        while (*p == ' ')
            p++;
        const char *word = p;
        while (*p && *p != ' ')
            p++;
        if (p == word)
            break;
        if (!add_string(a, word, (size_t)(p - word)))
            err = -E2BIG;
        else
            a->argc++;
    }
    /* Linux starts init with this environment. */
    static const char *const env[] = { "HOME=/", "TERM=linux" };
    for (unsigned i = 0; i < 2 && err == 0; i++) {
        if (!add_string(a, env[i], strlen(env[i])))
            err = -E2BIG;
        else
            a->envc++;
    }
    size_t n = a->argc ? strlen(a->strings) : 0;
    if (err == 0 && (n == 0 || n >= sizeof(a->path)))
        err = -ENOENT;
    if (err == 0) {
        memcpy(a->path, a->strings, n + 1);
        err = exec_args_load(t, tf, a);
    }
    page_free(a);
    return err;
}
