/* console.c - ordered byte output to COM1.
 *
 * poll mode: each byte waits for THRE and is written directly.
 * irq mode:  bytes go into a ring; the THRE interrupt moves up to 16 bytes
 *            (the FIFO size) per interrupt into the UART, and ETBEI is on
 *            only while the ring holds data.
 *
 * Every writer goes through the ring in irq mode, so kernel and task output
 * stay in order. When the ring is full, a task's write() sleeps (a tick at
 * a time) until the interrupt has made room; a kernel writer, which runs with
 * interrupts off, moves the oldest bytes out by polling instead. Once the
 * kernel is shutting down, console_sync() drains the ring and switches to
 * polled output for good.
 *
 * Every CPU writes through the one ring under console_lock, one call's
 * bytes at a time, so lines stay whole. A task that must wait for room
 * sleeps, with the lock released, so the other tasks of its CPU go on. */
#include "kernel/console.h"

#include "drivers/uart.h"
#include "arch/cpu.h"
#include "kernel/config.h"
#include "kernel/sched.h"
#include "kernel/spinlock.h"
#include "kernel/tick.h"
#include "lib/string.h"

#define RING_SIZE 4096 /* power of two: indices are free-running */
#define FIFO_SIZE 16

static char ring[RING_SIZE];
static uint32_t ring_head; /* next byte to fill */
static uint32_t ring_tail; /* next byte to send */
static bool tx_irq_on;
static bool use_ring; /* irq mode and not yet synced */
static uint64_t stalls;
static struct spinlock console_lock = SPINLOCK_INIT("console");
/* Tasks whose write() is not yet in the ring while they wait for room
 * (task->write_pending), so an exit that comes meanwhile can still print
 * it whole. A handful at most: a list, under console_lock. */
#define MAX_PENDING_WRITERS (MAX_TASKS + MAX_PROCS)
static struct task *pending[MAX_PENDING_WRITERS];

static uint32_t ring_used(void)
{
    return ring_head - ring_tail;
}

/* Moves the oldest byte out by polling. Used where sleeping is impossible. */
static void ring_poll_one(void)
{
    uart_putc_poll(ring[ring_tail++ % RING_SIZE]);
}

void console_set_mode(enum uart_mode m)
{
    use_ring = (m == UART_IRQ);
}

/* The 16550 raises THRE as soon as ETBEI is set with the FIFO empty, so
 * enabling it is enough to start transmission. */
static void tx_kick(void)
{
    if (!tx_irq_on && ring_used()) {
        tx_irq_on = true;
        uart_set_tx_irq(true);
    }
}

/* With the lock held and returned held: until the ring has room for `n`
 * bytes, the task sleeps a tick at a time with the lock released, so the
 * other tasks of its CPU run meanwhile (the THRE interrupt that makes room
 * runs on CPU 0 and takes the lock too). If nothing moves for ~100 ms (a
 * UART model that never raises THRE), the ring is drained by polling, so
 * output is never lost and never stuck. */
static void ring_wait_for_space(size_t n)
{
    uint64_t start = jiffies;
    uint32_t used = ring_used();
    uint64_t limit = cfg.hz / 10 + 2;

    tx_kick();
    while (RING_SIZE - ring_used() < n && use_ring) {
        if (jiffies - start > limit) {
            stalls++;
            while (ring_used())
                ring_poll_one();
            break;
        }
        spin_unlock(&console_lock);
        sched_sleep_until(jiffies + 1);
        spin_lock(&console_lock);
        if (ring_used() != used) {
            used = ring_used();
            start = jiffies;
        }
    }
}

static void ring_copy(const char *s, size_t n)
{
    while (n) {
        if (ring_used() == RING_SIZE) {
            ring_poll_one();
            continue;
        }
        /* As much as fits before the wrap, in one copy: ring-0 code is
         * slow here, a byte loop costs several instructions per byte. */
        uint32_t off = ring_head % RING_SIZE;
        size_t chunk = RING_SIZE - ring_used();
        if (chunk > RING_SIZE - off)
            chunk = RING_SIZE - off;
        if (chunk > n)
            chunk = n;
        memcpy(ring + off, s, chunk);
        ring_head += (uint32_t)chunk;
        s += chunk;
        n -= chunk;
    }
}

/* A task's write() waits for room for the whole of a line-sized write, so
 * that it reaches the ring in one piece; a longer one (bench=serial's 4 KiB
 * chunks) goes in halves of the ring, so the UART never idles while the
 * writer waits for it to drain completely. */
#define WHOLE_WRITE_MAX (RING_SIZE / 2)

void console_write(const char *s, size_t n, bool may_sleep)
{
    spin_lock(&console_lock);
    if (use_ring && may_sleep) {
        struct task *t = current();
        while (n) {
            size_t want = n < WHOLE_WRITE_MAX ? n : WHOLE_WRITE_MAX;
            if (RING_SIZE - ring_used() < want) {
                unsigned slot = 0;
                while (slot < MAX_PENDING_WRITERS && pending[slot])
                    slot++;
                t->write_pending = s;
                t->write_pending_len = n;
                if (slot < MAX_PENDING_WRITERS)
                    pending[slot] = t;
                ring_wait_for_space(want);
                if (slot < MAX_PENDING_WRITERS)
                    pending[slot] = NULL;
            }
            if (!use_ring)
                break;
            size_t room = RING_SIZE - ring_used(), chunk = n < room ? n : room;
            ring_copy(s, chunk);
            tx_kick();
            s += chunk;
            n -= chunk;
        }
    }
    if (!use_ring)
        uart_write_poll(s, n);
    else if (n)
        ring_copy(s, n); /* a kernel writer polls the oldest bytes out if it must */
    if (use_ring)
        tx_kick();
    spin_unlock(&console_lock);
}

/* THRE: the FIFO is empty, so it takes FIFO_SIZE bytes. */
static void tx_refill(void)
{
    uint32_t n = ring_used() < FIFO_SIZE ? ring_used() : FIFO_SIZE;
    while (n) {
        uint32_t off = ring_tail % RING_SIZE;
        uint32_t chunk = RING_SIZE - off < n ? RING_SIZE - off : n;
        uart_write_thr_burst(ring + off, chunk);
        ring_tail += chunk;
        n -= chunk;
    }
    if (!ring_used() && tx_irq_on) {
        tx_irq_on = false;
        uart_set_tx_irq(false);
    }
}

void (*console_rx_hook)(uint8_t iir);

/* IRQ4. Loops while IIR reports a cause, as Linux's 8250 handler does:
 * a UART that empties its FIFO at once (a VMM's) raises THRE again right
 * after a refill, and one interrupt then moves several FIFO loads; an
 * edge-triggered 8259 also only sees a new interrupt if the line has
 * dropped in between. Bounded so a misbehaving UART model cannot keep us in
 * ring 0: 4 rounds (64 bytes) for transmit only, 32 with the receiver on
 * (echo mode), which then makes sure the line shows a fresh edge. */
void console_irq(void)
{
    spin_lock(&console_lock);
    int rounds = console_rx_hook ? 32 : 4;
    for (int round = 0; round < rounds; round++) {
        uint8_t iir = uart_read_iir();
        if (iir & 0x01) /* no interrupt pending */
            break;
        switch (iir & 0x0E) {
        case 0x02:
            tx_refill();
            break;
        case 0x06: /* receiver line status */
        case 0x04: /* received data available */
        case 0x0C: /* character timeout */
            if (console_rx_hook) {
                console_rx_hook(iir);
                break;
            }
            uart_ack_other(iir);
            break;
        default:
            uart_ack_other(iir);
            break;
        }
    }
    if (console_rx_hook)
        uart_pulse_ier();
    spin_unlock(&console_lock);
}

/* Drains everything by polling and stays in poll mode. Only for the way
 * out (exit, exception): a write() sleeping under it never resumes, so its
 * remainder is printed here. */
void console_sync(void)
{
    spin_lock(&console_lock);
    if (tx_irq_on) {
        tx_irq_on = false;
        uart_set_tx_irq(false);
    }
    while (ring_used())
        ring_poll_one();
    for (unsigned i = 0; i < MAX_PENDING_WRITERS; i++)
        if (pending[i])
            uart_write_poll(pending[i]->write_pending, pending[i]->write_pending_len);
    use_ring = false;
    spin_unlock(&console_lock);
}

/* The UART raises its interrupt once, as an edge, when ETBEI is set; one
 * raised before its line was routed and unmasked went nowhere. Dropping
 * and restoring IER raises it again, as Linux's 8250 start-up does. */
void console_irq_routed(void)
{
    spin_lock(&console_lock);
    if (tx_irq_on)
        uart_pulse_ier();
    spin_unlock(&console_lock);
}

uint64_t console_stalls(void)
{
    return stalls;
}

/* ---- kprintf: %s %c %d %u %x with optional 0-padding, width and l, %% -- */

/* Big enough for the boot line with a full 511-byte command line. */
struct outbuf {
    char buf[640];
    size_t n;
    bool truncated;
};

static void put(struct outbuf *o, char c)
{
    if (o->n < sizeof(o->buf))
        o->buf[o->n++] = c;
    else
        o->truncated = true;
}

static void put_u64(struct outbuf *o, uint64_t v, unsigned base, int width, char pad)
{
    char tmp[20];
    int i = 0;
    do {
        tmp[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    for (int w = i; w < width; w++)
        put(o, pad);
    while (i)
        put(o, tmp[--i]);
}

bool console_quiet;

static bool starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return false;
    return true;
}

/* quiet: a program's output stays the program's; what the user must still
 * hear about (errors, warnings, faults, killed processes) is kept. */
static bool heard_when_quiet(const char *fmt)
{
    return starts_with(fmt, "error") || starts_with(fmt, "warn") ||
           starts_with(fmt, "exception") || starts_with(fmt, "proc ");
}

int kvprintf(const char *fmt, va_list ap)
{
    struct outbuf o;

    if (console_quiet && !heard_when_quiet(fmt))
        return 0;

    o.n = 0;
    o.truncated = false;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        bool is_long = false;
        char pad = ' ';
        int width = 0;
        fmt++;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        if (*fmt == 'l') {
            is_long = true;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s)
                put(&o, *s++);
            break;
        }
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = is_long ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) {
                put(&o, '-');
                put_u64(&o, -(uint64_t)v, 10, width - 1, pad);
            } else {
                put_u64(&o, (uint64_t)v, 10, width, pad);
            }
            break;
        }
        case 'u':
            put_u64(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, width,
                    pad);
            break;
        case 'x':
            put_u64(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, width,
                    pad);
            break;
        case '%':
            put(&o, '%');
            break;
        default: /* unsupported: print verbatim so the bug is visible */
            put(&o, '%');
            if (*fmt)
                put(&o, *fmt);
            else
                fmt--;
            break;
        }
    }
    /* A cut line must still end the line, or the next one is garbled. */
    if (o.truncated)
        o.buf[o.n - 1] = '\n';
    console_write(o.buf, o.n, false);
    return (int)o.n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}
