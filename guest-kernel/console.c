/* console.c - ordered byte output to COM1.
 *
 * poll mode: each byte waits for THRE and is written directly.
 * irq mode:  bytes go into a ring; the THRE interrupt moves up to 16 bytes
 *            (the FIFO size) per interrupt into the UART, and ETBEI is on
 *            only while the ring holds data.
 *
 * Every writer goes through the ring in irq mode, so kernel and task output
 * stay in order. When the ring is full, a task's write() sleeps (sti; hlt)
 * until the interrupt makes room; a kernel writer, which runs with
 * interrupts off, moves the oldest bytes out by polling instead. Once the
 * kernel is shutting down, console_sync() drains the ring and switches to
 * polled output for good. */
#include <stdarg.h>

#include "kernel.h"

#define RING_SIZE 4096 /* power of two: indices are free-running */
#define FIFO_SIZE 16

static char ring[RING_SIZE];
static uint32_t ring_head; /* next byte to fill */
static uint32_t ring_tail; /* next byte to send */
static bool tx_irq_on;
static bool use_ring; /* irq mode and not yet synced */
static uint64_t stalls;
/* The part of a task's write() not yet in the ring while it sleeps, so an
 * exit that interrupts the sleep can still print it whole. */
static const char *pending;
static size_t pending_len;

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

/* Waits with interrupts enabled until the THRE interrupt has made room. If
 * nothing moves for ~100 ms (a UART model that never raises THRE), the
 * ring is drained by polling so output is never lost and never stuck. */
static void ring_wait_for_space(void)
{
    uint64_t start = sched_ticks();
    uint32_t used = ring_used();
    uint64_t limit = cfg.hz / 10 + 2;

    tx_kick();
    while (ring_used() == RING_SIZE) {
        if (sched_ticks() - start > limit) {
            stalls++;
            while (ring_used())
                ring_poll_one();
            break;
        }
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        if (ring_used() != used) {
            used = ring_used();
            start = sched_ticks();
        }
    }
}

void console_write(const char *s, size_t n, bool may_sleep)
{
    if (!use_ring) {
        while (n--)
            uart_putc_poll(*s++);
        return;
    }
    while (n) {
        if (ring_used() == RING_SIZE) {
            if (may_sleep) {
                pending = s;
                pending_len = n;
                ring_wait_for_space();
                pending_len = 0;
            } else
                ring_poll_one();
            continue;
        }
        ring[ring_head++ % RING_SIZE] = *s++;
        n--;
    }
    tx_kick();
}

/* IRQ4. Bounded so a misbehaving UART model cannot keep us in ring 0. */
void console_irq(void)
{
    for (int round = 0; round < 4; round++) {
        uint8_t iir = uart_read_iir();
        if (iir & 0x01) /* no interrupt pending */
            return;
        if ((iir & 0x0E) != 0x02) {
            uart_ack_other(iir);
            continue;
        }
        /* THRE: the FIFO is empty, so it takes FIFO_SIZE bytes. */
        for (int i = 0; i < FIFO_SIZE && ring_used(); i++)
            uart_write_thr(ring[ring_tail++ % RING_SIZE]);
        if (!ring_used() && tx_irq_on) {
            tx_irq_on = false;
            uart_set_tx_irq(false);
        }
        return; /* the bytes just written make THRE false: no need to re-read IIR */
    }
}

/* Drains everything by polling and stays in poll mode. Only for the way
 * out (exit, exception): a write() sleeping under it never resumes, so its
 * remainder is printed here. */
void console_sync(void)
{
    if (tx_irq_on) {
        tx_irq_on = false;
        uart_set_tx_irq(false);
    }
    while (ring_used())
        ring_poll_one();
    while (pending_len) {
        uart_putc_poll(*pending++);
        pending_len--;
    }
    use_ring = false;
}

uint64_t console_stalls(void)
{
    return stalls;
}

/* ---- kprintf: %s %c %d %u %x with optional l, and %% ---------------- */

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

static void put_u64(struct outbuf *o, uint64_t v, unsigned base)
{
    char tmp[20];
    int i = 0;
    do {
        tmp[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (i)
        put(o, tmp[--i]);
}

int kprintf(const char *fmt, ...)
{
    struct outbuf o;
    va_list ap;

    o.n = 0;
    o.truncated = false;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        bool is_long = false;
        fmt++;
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
                put_u64(&o, -(uint64_t)v, 10);
            } else {
                put_u64(&o, (uint64_t)v, 10);
            }
            break;
        }
        case 'u':
            put_u64(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
            break;
        case 'x':
            put_u64(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
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
    va_end(ap);
    /* A cut line must still end the line, or the next one is garbled. */
    if (o.truncated)
        o.buf[o.n - 1] = '\n';
    console_write(o.buf, o.n, false);
    return (int)o.n;
}
