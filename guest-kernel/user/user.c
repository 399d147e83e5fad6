/* user.c - the ring-3 task body and the data it shares with the kernel.
 *
 * linker.ld places every section of this file in the user page
 * (USER_BASE..USER_LIMIT, the only page with U=1), so this file must not
 * call or reference anything outside itself: kernel pages are supervisor-
 * only and touching them from ring 3 is a #PF. The build checks that
 * user.o has no undefined symbols. For the same reason no construct here
 * may make gcc emit memcpy/memset (no struct copies, no initialised local
 * arrays). */
#include "abi.h"

struct vvar vvar;
struct ustats ustats;
uint8_t user_stacks[MAX_TASKS][USTACK_SIZE] __attribute__((aligned(16)));

/* Compute batch between looks at the clock: a few microseconds natively. */
#define BATCH 4096

static inline long syscall3(long n, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "memory");
    return ret;
}

static long sys_write(const char *buf, unsigned long len)
{
    return syscall3(SYS_WRITE, 1, (long)buf, (long)len);
}

__attribute__((noreturn)) static void sys_exit(long code)
{
    syscall3(SYS_EXIT, code, 0, 0);
    for (;;)
        ; /* not reached: the kernel never returns to an exited task */
}

/* ---- line building, ring 3 style: no library to call ------------------ */

struct line {
    char buf[128];
    unsigned long n;
};

static void put_str(struct line *l, const char *s)
{
    while (*s && l->n < sizeof(l->buf))
        l->buf[l->n++] = *s++;
}

static void put_u64(struct line *l, uint64_t v)
{
    char tmp[20];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i && l->n < sizeof(l->buf))
        l->buf[l->n++] = tmp[--i];
}

static void line_send(struct line *l)
{
    sys_write(l->buf, l->n);
}

__attribute__((noreturn)) void user_task_main(long id)
{
    struct line l;

    /* Cheap self-checks of the syscall layer; a failure ends the task
     * with a distinctive code, which makes the kernel exit with 1. */
    if (syscall3(SYS_GETPID, 0, 0, 0) != id)
        sys_exit(10);
    if (syscall3(SYS_WRITE, 1, 0x100000 /* kernel image */, 1) != -E_FAULT)
        sys_exit(11);

    l.n = 0;
    put_str(&l, "task id=");
    put_u64(&l, (uint64_t)id);
    put_str(&l, " state=start\n");
    line_send(&l);

    if (vvar.crash_user == USER_CRASH_CLI && id == 0)
        __asm__ volatile("cli"); /* privileged at CPL 3 with IOPL 0: #GP */
    if (vvar.crash_user == USER_CRASH_SYSCALL && id == 0) /* to LSTAR in ring 0, which ends the run */
        __asm__ volatile("syscall" : : : "rcx", "r11", "memory");

    uint64_t hz = vvar.hz, progress_ms = vvar.progress_ms, task_ms = vvar.task_ms;
    uint64_t next_progress = progress_ms;
    uint64_t seen = 0;
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ULL + 1, sum = 0, batches = 0;

    for (;;) {
        /* The work: a 64-bit LCG folded into a checksum, at native speed. */
        for (int i = 0; i < BATCH; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            sum += x >> 29;
        }
        batches++;
        ustats.work[id] = batches;
        ustats.checksum[id] = sum;

        uint64_t t = vvar.task_ticks[id];
        if (t == seen)
            continue;
        seen = t;
        uint64_t run_ms = t * 1000 / hz;

        if (progress_ms && run_ms >= next_progress) {
            l.n = 0;
            put_str(&l, "progress id=");
            put_u64(&l, (uint64_t)id);
            put_str(&l, " run_ms=");
            put_u64(&l, run_ms);
            put_str(&l, " ticks=");
            put_u64(&l, (uint64_t)syscall3(SYS_TICKS, 0, 0, 0));
            put_str(&l, "\n");
            line_send(&l);
            next_progress = (run_ms / progress_ms + 1) * progress_ms;
        }
        if (task_ms && run_ms >= task_ms)
            sys_exit(0);
    }
}

/* A waiter: blocks on its line, and says so each time an interrupt wakes
 * it (every wake_log-th time), with the CPU it woke up on. */
__attribute__((noreturn)) void user_waiter_main(long id)
{
    struct line l;
    uint64_t gsi = vvar.waiter_gsi[id], every = vvar.wake_log;
    uint32_t mark = vvar.wake_mark;

    l.n = 0;
    put_str(&l, "task id=");
    put_u64(&l, (uint64_t)id);
    put_str(&l, " state=wait line=");
    put_u64(&l, gsi);
    put_str(&l, "\n");
    line_send(&l);

    for (uint64_t n = 1;; n++) {
        long woke = syscall3(SYS_WAIT_IRQ, (long)gsi, 0, 0);
        if (mark) /* first thing back in ring 3: where the host's wake-up latency ends */
            __asm__ volatile("outw %w0, %w1" : : "a"((uint16_t)gsi), "Nd"((uint16_t)WAKE_MARK_PORT));
        if (woke != 0)
            sys_exit(20);
        if (!every || n % every)
            continue;
        l.n = 0;
        put_str(&l, "wake id=");
        put_u64(&l, (uint64_t)id);
        put_str(&l, " line=");
        put_u64(&l, gsi);
        put_str(&l, " count=");
        put_u64(&l, n);
        put_str(&l, " cpu=");
        put_u64(&l, (uint64_t)syscall3(SYS_GETCPU, 0, 0, 0));
        put_str(&l, "\n");
        line_send(&l);
    }
}

__attribute__((noreturn)) void user_sleeper_main(long id)
{
    (void)id;
    for (;;)
        if (syscall3(SYS_SLEEP_MS, (long)vvar.nap_ms, 0, 0) != 0)
            sys_exit(21);
}

/* ---- bench=serial ------------------------------------------------------ */

static char bench_buf[BENCH_CHUNK];

/* Builds the payload at native speed and hands it to the kernel in
 * BENCH_CHUNK-byte write() calls; the kernel's console path (uart=poll or
 * uart=irq) moves it to COM1. */
__attribute__((noreturn)) void user_bench_serial_main(long bytes)
{
    static const char text[] = BENCH_LINE_TEXT;
    uint64_t left = (uint64_t)bytes, line = 0;

    while (left) {
        unsigned long n = 0;
        while (n + BENCH_LINE_LEN <= sizeof(bench_buf) && left) {
            /* One line, or what is left of the payload: its first len-1
             * bytes and a newline. */
            unsigned long len = left < BENCH_LINE_LEN ? (unsigned long)left : BENCH_LINE_LEN;
            char *p = bench_buf + n;
            uint64_t num = line++;
            for (int d = 7; d >= 0; d--) {
                p[d] = (char)('0' + num % 10);
                num /= 10;
            }
            p[8] = ' ';
            for (int i = 0; i < BENCH_LINE_LEN - 10; i++)
                p[9 + i] = text[i];
            p[len - 1] = '\n';
            n += len;
            left -= len;
        }
        sys_write(bench_buf, n);
    }
    sys_exit(0);
}
