/* linux.c - the Linux x86-64 system-call ABI for programs: entry by the
 * syscall instruction (arch/isr.S, syscall_entry), rax = number, rdi rsi
 * rdx r10 r8 r9 = arguments, rax = result or -errno. The numbers are
 * Linux's (arch/x86/entry/syscalls/syscall_64.tbl); README.md, "Programs",
 * has the table of what each does here and its errors. Anything else is
 * -ENOSYS, and the first call of each such number says so on the console.
 *
 * Every user pointer goes through mm_user_ok (copy_from_user and friends):
 * a bad one is EFAULT, never a fault in the kernel. */
#include "kernel/linux.h"

#include "arch/mmu.h"
#include "drivers/rtc.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/errno.h"
#include "kernel/initrd.h"
#include "kernel/irq.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/tick.h"
#include "kernel/trace.h"
#include "lib/string.h"

enum {
    NR_read = 0,
    NR_write = 1,
    NR_open = 2,
    NR_close = 3,
    NR_mmap = 9,
    NR_mprotect = 10,
    NR_munmap = 11,
    NR_brk = 12,
    NR_rt_sigaction = 13,
    NR_rt_sigprocmask = 14,
    NR_ioctl = 16,
    NR_writev = 20,
    NR_sched_yield = 24,
    NR_nanosleep = 35,
    NR_getpid = 39,
    NR_fork = 57,
    NR_execve = 59,
    NR_exit = 60,
    NR_wait4 = 61,
    NR_uname = 63,
    NR_getppid = 110,
    NR_getpriority = 140,
    NR_setpriority = 141,
    NR_sched_setparam = 142,
    NR_sched_getparam = 143,
    NR_sched_setscheduler = 144,
    NR_sched_getscheduler = 145,
    NR_sched_get_priority_max = 146,
    NR_sched_get_priority_min = 147,
    NR_arch_prctl = 158,
    NR_gettid = 186,
    NR_set_tid_address = 218,
    NR_clock_gettime = 228,
    NR_exit_group = 231,
    NR_openat = 257,
    NR_getcpu = 309,
};

#define MAX_NR 512

static volatile uint64_t calls;
static uint32_t unimplemented[MAX_NR]; /* calls per number that got ENOSYS */
static volatile uint64_t unimplemented_other; /* numbers >= MAX_NR */

/* ---- memory ------------------------------------------------------------------ */

#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20

static uint64_t page_up(uint64_t v)
{
    return (v + PAGE_SIZE - 1) & PAGE_MASK;
}

static long sys_brk(uint64_t addr)
{
    struct mm *m = &current()->mm;
    /* The heap may grow up to a page below the lowest mapping. */
    if (addr < m->brk_base || addr > m->mmap_base - PAGE_SIZE)
        return (long)m->brk;
    uint64_t old_end = page_up(m->brk), new_end = page_up(addr);
    if (new_end > old_end && !mm_map(m, old_end, new_end - old_end, true, true)) {
        mm_unmap(m, old_end, new_end - old_end);
        return (long)m->brk;
    }
    if (new_end < old_end)
        mm_unmap(m, new_end, old_end - new_end);
    m->brk = addr;
    return (long)addr;
}

static bool page_range_ok(uint64_t addr, uint64_t len)
{
    return !(addr & (PAGE_SIZE - 1)) && addr >= USER_WINDOW_BASE && addr <= USER_WINDOW_END &&
           len <= USER_WINDOW_END - addr;
}

static long sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int64_t fd)
{
    struct mm *m = &current()->mm;
    if (len == 0 || len > USER_WINDOW_END)
        return -EINVAL;
    if (!(flags & MAP_ANONYMOUS))
        return fd < 0 || fd >= MAX_FDS ? -EBADF : -ENODEV; /* no file mappings */
    if ((flags & (MAP_SHARED | MAP_PRIVATE)) != MAP_PRIVATE)
        return -EINVAL;
    len = page_up(len);
    uint64_t va;
    if (flags & MAP_FIXED) {
        if (!page_range_ok(addr, len))
            return -EINVAL;
        va = addr;
        mm_unmap(m, va, len);
    } else {
        /* Downwards from below the stack; the hint is only a hint. */
        if (m->mmap_base < len || m->mmap_base - len < page_up(m->brk) + PAGE_SIZE)
            return -ENOMEM;
        va = m->mmap_base - len;
    }
    if (!mm_map(m, va, len, prot & PROT_WRITE, true)) {
        mm_unmap(m, va, len);
        return -ENOMEM;
    }
    if (prot == 0)
        mm_protect(m, va, len, false, false);
    if (!(flags & MAP_FIXED))
        m->mmap_base = va;
    return (long)va;
}

static long sys_munmap(uint64_t addr, uint64_t len)
{
    struct mm *m = &current()->mm;
    if (len == 0 || !page_range_ok(addr, page_up(len)))
        return -EINVAL;
    len = page_up(len);
    mm_unmap(m, addr, len);
    if (addr == m->mmap_base) /* the lowest mapping: its room is free again */
        m->mmap_base += len;
    return 0;
}

static long sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot)
{
    if (!page_range_ok(addr, page_up(len)))
        return -EINVAL;
    mm_protect(&current()->mm, addr, page_up(len), prot != 0, prot & PROT_WRITE);
    return 0;
}

/* ---- files ------------------------------------------------------------------- */

#define AT_FDCWD (-100)
#define O_ACCMODE 3
#define O_CREAT 0100
#define UIO_MAXIOV 1024
#define CONSOLE_CHUNK 1024

static struct file *file_of(int64_t fd)
{
    if (fd < 0 || fd >= MAX_FDS)
        return NULL;
    struct file *f = &current()->files[fd];
    return f->kind == FILE_NONE ? NULL : f;
}

/* Console writes go through a bounce buffer, so what waits in console.c
 * for room in its ring is kernel memory, readable from any address space
 * at the run's end. One write or writev of up to CONSOLE_CHUNK bytes
 * reaches the console whole, as a pipe's write of up to PIPE_BUF does on
 * Linux: musl's printf is a writev of the buffered text and the rest, and
 * the lines of two processes on two CPUs must not mix. */
struct console_gather {
    char buf[CONSOLE_CHUNK];
    size_t used;
};

static void gather_flush(struct console_gather *g)
{
    if (g->used)
        console_write(g->buf, g->used, true);
    g->used = 0;
}

/* Bytes taken from [ubuf, ubuf+len): len, or -EFAULT before any. */
static long gather(struct console_gather *g, uint64_t ubuf, uint64_t len)
{
    if (!mm_user_ok(&current()->mm, ubuf, len, false))
        return -EFAULT;
    for (uint64_t done = 0; done < len;) {
        if (g->used == sizeof(g->buf))
            gather_flush(g);
        uint64_t n = len - done, room = sizeof(g->buf) - g->used;
        if (n > room)
            n = room;
        if (copy_from_user(g->buf + g->used, ubuf + done, n) < 0)
            return done ? (long)done : -EFAULT;
        g->used += n;
        done += n;
    }
    return (long)len;
}

static long sys_writev(int64_t fd, uint64_t iov, int64_t count)
{
    struct file *f = file_of(fd);
    if (!f)
        return -EBADF;
    if (f->kind != FILE_CONSOLE)
        return f->kind == FILE_IRQ ? -EINVAL : -EBADF; /* initrd files are read-only */
    if (count < 0 || count > UIO_MAXIOV)
        return -EINVAL;
    struct console_gather g;
    g.used = 0;
    long total = 0;
    for (int64_t i = 0; i < count; i++) {
        uint64_t v[2]; /* iov_base, iov_len */
        long n = copy_from_user(v, iov + (uint64_t)i * sizeof(v), sizeof(v));
        if (n == 0)
            n = (int64_t)v[1] < 0 ? -EINVAL : gather(&g, v[0], v[1]);
        if (n < 0) {
            gather_flush(&g);
            return total ? total : n;
        }
        total += n;
    }
    gather_flush(&g);
    return total;
}

static long sys_write(int64_t fd, uint64_t buf, uint64_t len)
{
    struct file *f = file_of(fd);
    if (!f)
        return -EBADF;
    if (f->kind != FILE_CONSOLE)
        return f->kind == FILE_IRQ ? -EINVAL : -EBADF;
    struct console_gather g;
    g.used = 0;
    long n = gather(&g, buf, len);
    gather_flush(&g);
    return n;
}

/* UIO's protocol: read exactly 4 bytes, which block until the line's next
 * interrupt and give how many it has had. */
static long read_irq(struct file *f, uint64_t buf, uint64_t len)
{
    if (len != 4)
        return -EINVAL;
    if (!mm_user_ok(&current()->mm, buf, 4, true))
        return -EFAULT;
    irq_wait(f->line);
    uint32_t count = (uint32_t)cfg.irqs[f->line].count;
    return copy_to_user(buf, &count, sizeof(count)) < 0 ? -EFAULT : 4;
}

static long sys_read(int64_t fd, uint64_t buf, uint64_t len)
{
    struct file *f = file_of(fd);
    if (!f)
        return -EBADF;
    switch (f->kind) {
    case FILE_CONSOLE:
        return mm_user_ok(&current()->mm, buf, len, true) ? 0 : -EFAULT; /* no console input: end of file */
    case FILE_IRQ:
        return read_irq(f, buf, len);
    default: {
        uint64_t n = f->offset < f->size ? f->size - f->offset : 0;
        if (n > len)
            n = len;
        if (copy_to_user(buf, f->data + f->offset, n) < 0)
            return -EFAULT;
        f->offset += n;
        return (long)n;
    }
    }
}

/* /dev/irq/<gsi>: the line must be one of irqs=. */
static long open_irq(const char *gsi_text, struct file *f)
{
    uint32_t gsi = 0;
    if (!*gsi_text)
        return -ENOENT;
    for (const char *p = gsi_text; *p; p++) {
        if (*p < '0' || *p > '9' || gsi > 100000)
            return -ENOENT;
        gsi = gsi * 10 + (uint32_t)(*p - '0');
    }
    int line = gsi > 0xFFFF ? -1 : irq_line_index((uint16_t)gsi);
    if (line < 0)
        return -ENOENT;
    f->kind = FILE_IRQ;
    f->line = (int8_t)line;
    return 0;
}

static long sys_openat(int64_t dirfd, uint64_t upath, uint64_t flags)
{
    char path[256];
    long err = string_from_user(path, upath, sizeof(path));
    if (err < 0)
        return err;
    /* The working directory is / (there is no chdir), so a relative path
     * from AT_FDCWD starts there; from any other descriptor, which is
     * never a directory here, it is ENOTDIR. */
    if (path[0] != '/' && dirfd != AT_FDCWD)
        return file_of(dirfd) ? -ENOTDIR : -EBADF;
    struct task *t = current();
    int fd = 0;
    while (fd < MAX_FDS && t->files[fd].kind != FILE_NONE)
        fd++;
    if (fd == MAX_FDS)
        return -EMFILE;
    struct file f;
    memset(&f, 0, sizeof(f));
    const char *p = path;
    while (*p == '/')
        p++;
    if (memcmp(p, "dev/irq/", 8) == 0) {
        err = open_irq(p + 8, &f);
    } else {
        struct initrd_file file;
        err = initrd_lookup(p, &file);
        if (err == -ENOENT && (flags & O_CREAT))
            err = -EROFS;
        if (err == 0 && (flags & O_ACCMODE) != 0)
            err = -EROFS;
        f.kind = FILE_INITRD;
        f.data = file.data;
        f.size = file.size;
    }
    if (err < 0)
        return err;
    t->files[fd] = f;
    return fd;
}

static long sys_close(int64_t fd)
{
    struct file *f = file_of(fd);
    if (!f)
        return -EBADF;
    memset(f, 0, sizeof(*f));
    return 0;
}

static long sys_ioctl(int64_t fd)
{
    /* The console is a serial line with no terminal behind it: TIOCGWINSZ
     * and every other request are ENOTTY, which makes musl's stdout fully
     * buffered, as on Linux with output to a pipe. */
    return file_of(fd) ? -ENOTTY : -EBADF;
}

/* ---- time, identity, signals ------------------------------------------------- */

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define NSEC_PER_SEC 1000000000ULL

static uint64_t ticks_to_ns(uint64_t ticks)
{
    return ticks * (NSEC_PER_SEC / cfg.hz) + ticks * (NSEC_PER_SEC % cfg.hz) / cfg.hz;
}

/* CLOCK_REALTIME: the CMOS clock's reading when the first program started,
 * plus the jiffies since (linux_start_clock). */
static uint64_t realtime_base_ns;

void linux_start_clock(void)
{
    realtime_base_ns = rtc_read_epoch() * NSEC_PER_SEC - ticks_to_ns(jiffies);
}

static long sys_clock_gettime(int64_t clock, uint64_t tp)
{
    uint64_t ns;
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
        ns = realtime_base_ns + ticks_to_ns(jiffies);
        break;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
        ns = ticks_to_ns(jiffies);
        break;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID: /* one thread per process */
        ns = ticks_to_ns(current()->ticks);
        break;
    default:
        return -EINVAL;
    }
    int64_t ts[2] = { (int64_t)(ns / NSEC_PER_SEC), (int64_t)(ns % NSEC_PER_SEC) };
    return copy_to_user(tp, ts, sizeof(ts));
}

static long sys_nanosleep(uint64_t req)
{
    int64_t ts[2];
    if (copy_from_user(ts, req, sizeof(ts)) < 0)
        return -EFAULT;
    if (ts[0] < 0 || ts[1] < 0 || (uint64_t)ts[1] >= NSEC_PER_SEC)
        return -EINVAL;
    /* Whole ticks, rounded up: never shorter than asked. */
    uint64_t sec = (uint64_t)ts[0] > 1000000000ULL ? 1000000000ULL : (uint64_t)ts[0];
    uint64_t ticks = sec * cfg.hz + ((uint64_t)ts[1] * cfg.hz + NSEC_PER_SEC - 1) / NSEC_PER_SEC;
    if (ticks == 0) {
        sched_yield();
        return 0;
    }
    /* +1: the current tick is partly over already. */
    sched_sleep_until(jiffies + ticks + 1);
    return 0;
}

static long sys_uname(uint64_t buf)
{
    char u[6][65];
    memset(u, 0, sizeof(u));
    static const char *const fields[6] = { "vmm", "vmm", "1.0", "#1 the bundled kernel of vmm",
                                           "x86_64", "(none)" };
    for (int i = 0; i < 6; i++)
        memcpy(u[i], fields[i], strlen(fields[i]));
    return copy_to_user(buf, u, sizeof(u));
}

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define MSR_FS_BASE 0xC0000100u

static long sys_arch_prctl(int64_t code, uint64_t addr)
{
    struct task *t = current();
    switch (code) {
    case ARCH_SET_FS:
        if (addr >= 0x800000000000ULL) /* not a user address: wrmsr would #GP */
            return -EPERM;
        t->fs_base = addr;
        wrmsr(MSR_FS_BASE, addr);
        return 0;
    case ARCH_GET_FS:
        return copy_to_user(addr, &t->fs_base, sizeof(t->fs_base));
    default:
        return -EINVAL;
    }
}

#define SIGKILL 9
#define SIGSTOP 19
#define NSIG 64
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define KERNEL_SIGACTION_BYTES 32

/* Accepted and checked as Linux checks it; no signal is ever delivered
 * (there is no kill, and faults end the process as the default action
 * would). */
static long sys_rt_sigaction(int64_t sig, uint64_t act, uint64_t oldact, uint64_t setsize)
{
    if (setsize != 8 || sig < 1 || sig > NSIG || (act && (sig == SIGKILL || sig == SIGSTOP)))
        return -EINVAL;
    uint8_t sa[KERNEL_SIGACTION_BYTES];
    if (act && copy_from_user(sa, act, sizeof(sa)) < 0)
        return -EFAULT;
    memset(sa, 0, sizeof(sa)); /* the old action: the default */
    return oldact ? copy_to_user(oldact, sa, sizeof(sa)) : 0;
}

static long sys_rt_sigprocmask(int64_t how, uint64_t set, uint64_t oldset, uint64_t setsize)
{
    struct task *t = current();
    if (setsize != 8)
        return -EINVAL;
    uint64_t mask = 0;
    if (set) {
        if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
            return -EINVAL;
        if (copy_from_user(&mask, set, sizeof(mask)) < 0)
            return -EFAULT;
    }
    if (oldset && copy_to_user(oldset, &t->sigmask, sizeof(t->sigmask)) < 0)
        return -EFAULT;
    if (set) {
        mask &= ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
        t->sigmask = how == SIG_BLOCK ? t->sigmask | mask : how == SIG_UNBLOCK ? t->sigmask & ~mask : mask;
    }
    return 0;
}

static long sys_getcpu(uint64_t cpu, uint64_t node)
{
    uint32_t c = this_cpu_id(), n = 0;
    if (cpu && copy_to_user(cpu, &c, sizeof(c)) < 0)
        return -EFAULT;
    if (node && copy_to_user(node, &n, sizeof(n)) < 0)
        return -EFAULT;
    return 0;
}

/* ---- priorities ------------------------------------------------------------------ */

#define PRIO_PROCESS 0
#define MIN_NICE (-20)
#define MAX_NICE 19

/* getpriority() returns 20 - nice, so that it is never negative (libc
 * turns it back); there are no users, so any process may set any nice. */
static long sys_getpriority(int64_t which, int64_t who)
{
    if (which != PRIO_PROCESS)
        return -EINVAL;
    struct task *t = proc_find_locked((int)who);
    if (!t)
        return -ESRCH;
    long ret = 20 - PRIO_TO_NICE(t->static_prio);
    proc_unlock();
    return ret;
}

static long sys_setpriority(int64_t which, int64_t who, int64_t nice)
{
    if (which != PRIO_PROCESS)
        return -EINVAL;
    if (nice < MIN_NICE)
        nice = MIN_NICE;
    if (nice > MAX_NICE)
        nice = MAX_NICE;
    struct task *t = proc_find_locked((int)who);
    if (!t)
        return -ESRCH;
    sched_set_params(t, NICE_TO_PRIO((int)nice), t->policy, t->rt_priority);
    proc_unlock();
    return 0;
}

/* struct sched_param is one int; real-time priorities 1-99, 0 for normal. */
static long set_scheduler(int64_t pid, int64_t policy, uint64_t param, bool keep_policy)
{
    int32_t prio;
    if (pid < 0 || !param)
        return -EINVAL;
    if (copy_from_user(&prio, param, sizeof(prio)) < 0)
        return -EFAULT;
    struct task *t = proc_find_locked((int)pid);
    if (!t)
        return -ESRCH;
    if (keep_policy)
        policy = t->policy;
    bool rt = policy == SCHED_FIFO || policy == SCHED_RR;
    if ((policy != SCHED_NORMAL && !rt) || (rt ? prio < 1 || prio > 99 : prio != 0)) {
        proc_unlock();
        return -EINVAL;
    }
    sched_set_params(t, t->static_prio, (int)policy, rt ? prio : 0);
    proc_unlock();
    return 0;
}

static long sys_sched_getscheduler(int64_t pid)
{
    if (pid < 0)
        return -EINVAL;
    struct task *t = proc_find_locked((int)pid);
    if (!t)
        return -ESRCH;
    long policy = t->policy;
    proc_unlock();
    return policy;
}

static long sys_sched_getparam(int64_t pid, uint64_t param)
{
    if (pid < 0 || !param)
        return -EINVAL;
    struct task *t = proc_find_locked((int)pid);
    if (!t)
        return -ESRCH;
    int32_t prio = t->rt_priority;
    proc_unlock();
    return copy_to_user(param, &prio, sizeof(prio));
}

static long priority_limit(int64_t policy, bool max)
{
    if (policy == SCHED_FIFO || policy == SCHED_RR)
        return max ? 99 : 1;
    return policy == SCHED_NORMAL ? 0 : -EINVAL;
}

/* ---- dispatch ------------------------------------------------------------------ */

static long unimplemented_call(uint64_t nr)
{
    uint32_t first = 0;
    if (nr < MAX_NR)
        first = __atomic_fetch_add(&unimplemented[nr], 1, __ATOMIC_RELAXED) == 0;
    else
        __atomic_add_fetch(&unimplemented_other, 1, __ATOMIC_RELAXED);
    if (first)
        kprintf("warn syscall=%lu pid=%d name=%s result=ENOSYS reason=not_implemented\n", nr,
                current()->id, current()->name);
    return -ENOSYS;
}

void linux_syscall(struct trapframe *tf)
{
    struct task *t = current();
    uint64_t nr = tf->rax, a0 = tf->rdi, a1 = tf->rsi, a2 = tf->rdx, a3 = tf->r10, a4 = tf->r8;
    long ret;

    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    if (tracing())
        trace_record(TRACE_SYSCALL, (uint32_t)nr, trace_task(t->id), 0);
    if (t->kind != TASK_PROCESS) { /* a built-in task's ABI is int $0x80's */
        tf->rax = (uint64_t)-ENOSYS;
        return;
    }
    switch (nr) {
    case NR_read:
        ret = sys_read((int64_t)a0, a1, a2);
        break;
    case NR_write:
        ret = sys_write((int64_t)a0, a1, a2);
        break;
    case NR_open:
        ret = sys_openat(AT_FDCWD, a0, a1);
        break;
    case NR_openat:
        ret = sys_openat((int32_t)a0, a1, a2);
        break;
    case NR_close:
        ret = sys_close((int64_t)a0);
        break;
    case NR_mmap:
        ret = sys_mmap(a0, a1, a2, a3, (int32_t)a4);
        break;
    case NR_mprotect:
        ret = sys_mprotect(a0, a1, a2);
        break;
    case NR_munmap:
        ret = sys_munmap(a0, a1);
        break;
    case NR_brk:
        ret = sys_brk(a0);
        break;
    case NR_rt_sigaction:
        ret = sys_rt_sigaction((int64_t)a0, a1, a2, a3);
        break;
    case NR_rt_sigprocmask:
        ret = sys_rt_sigprocmask((int64_t)a0, a1, a2, a3);
        break;
    case NR_ioctl:
        ret = sys_ioctl((int64_t)a0);
        break;
    case NR_writev:
        ret = sys_writev((int64_t)a0, a1, (int64_t)a2);
        break;
    case NR_sched_yield:
        sched_yield();
        ret = 0;
        break;
    case NR_nanosleep:
        ret = sys_nanosleep(a0);
        break;
    case NR_getpid:
    case NR_gettid: /* one thread per process */
        ret = t->id;
        break;
    case NR_getppid:
        ret = t->parent ? t->parent->id : 0;
        break;
    case NR_getpriority:
        ret = sys_getpriority((int32_t)a0, (int32_t)a1);
        break;
    case NR_setpriority:
        ret = sys_setpriority((int32_t)a0, (int32_t)a1, (int32_t)a2);
        break;
    case NR_sched_setparam:
        ret = set_scheduler((int32_t)a0, 0, a1, true);
        break;
    case NR_sched_getparam:
        ret = sys_sched_getparam((int32_t)a0, a1);
        break;
    case NR_sched_setscheduler:
        ret = set_scheduler((int32_t)a0, (int32_t)a1, a2, false);
        break;
    case NR_sched_getscheduler:
        ret = sys_sched_getscheduler((int32_t)a0);
        break;
    case NR_sched_get_priority_max:
        ret = priority_limit((int32_t)a0, true);
        break;
    case NR_sched_get_priority_min:
        ret = priority_limit((int32_t)a0, false);
        break;
    case NR_fork:
        ret = proc_fork(tf);
        break;
    case NR_execve:
        ret = exec_syscall(tf, a0, a1, a2);
        break;
    case NR_exit:
    case NR_exit_group:
        proc_exit(W_EXITED((int)a0));
    case NR_wait4:
        ret = proc_wait4((int32_t)a0, a1, (int32_t)a2, a3);
        break;
    case NR_uname:
        ret = sys_uname(a0);
        break;
    case NR_arch_prctl:
        ret = sys_arch_prctl((int64_t)a0, a1);
        break;
    case NR_set_tid_address:
        t->clear_child_tid = a0;
        ret = t->id;
        break;
    case NR_clock_gettime:
        ret = sys_clock_gettime((int32_t)a0, a1);
        break;
    case NR_getcpu:
        ret = sys_getcpu(a0, a1);
        break;
    default:
        ret = unimplemented_call(nr);
        break;
    }
    tf->rax = (uint64_t)ret;
}

uint64_t linux_syscall_count(void)
{
    return calls;
}

void linux_summary(void)
{
    kprintf("syscalls linux=%lu", calls);
    for (unsigned nr = 0; nr < MAX_NR; nr++)
        if (unimplemented[nr])
            kprintf(" enosys_%u=%u", nr, unimplemented[nr]);
    if (unimplemented_other)
        kprintf(" enosys_other=%lu", unimplemented_other);
    kprintf("\n");
}
