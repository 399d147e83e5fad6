/* echo.c - echo=N: serial input test.
 *
 * The receiver interrupt (IER RDA + RLS) is enabled and the IRQ4 handler
 * drains the RX FIFO into a ring; the kernel's idle loop takes bytes from
 * the ring, counts them, hashes them (FNV-1a, 32 bit) and, with
 * echo_lines=1, prints every complete line. Nothing is echoed per byte:
 * the verdict line after exactly N bytes says whether everything arrived.
 * Overruns are the LSR reads that showed OE (a byte lost in the UART),
 * plus bytes that found the ring full (lost in the kernel; never expected,
 * since the idle loop empties the ring after every interrupt). */
#include "modes/modes.h"

#include "arch/idt.h"
#include "arch/pic.h"
#include "arch/x86.h"
#include "drivers/pit.h"
#include "drivers/uart.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/sched.h"
#include "kernel/tick.h"
#include "kernel/trap.h"
#include "lib/string.h"

#define RX_RING 4096 /* power of two: indices are free-running */
#define LINE_MAX 200

static uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head; /* written by the IRQ4 handler */
static uint32_t rx_tail;
static uint64_t overruns;

static uint64_t received;
static uint32_t fnv = 0x811c9dc5u;
static char line[LINE_MAX + 1];
static unsigned line_len;
static bool after_cr;

static void rx_put(uint8_t b)
{
    if (rx_head - rx_tail < RX_RING)
        rx_ring[rx_head++ % RX_RING] = b;
    else
        overruns++;
}

/* IRQ4, one receive cause per call (console_irq() re-reads IIR and calls
 * again while one is pending). "Received data available" (not the
 * timeout) means the FIFO holds at least the trigger level, 14 as set by
 * uart_init(): those are read without asking. Otherwise (character
 * timeout, line status) LSR is read before every byte, as Linux's
 * serial8250_rx_chars() does, until the FIFO is empty. That is about one
 * port access per byte instead of two. LSR.OE stays set until LSR is read,
 * so no overrun goes uncounted. */
#define RX_TRIGGER 14

static void echo_rx(uint8_t iir)
{
    if ((iir & 0x0F) == 0x04) {
        for (int i = 0; i < RX_TRIGGER; i++)
            rx_put(uart_in(UART_RBR));
        return;
    }
    uint8_t lsr = uart_in(UART_LSR);
    if (lsr & UART_LSR_OE)
        overruns++;
    for (int n = 0; n < 256 && (lsr & UART_LSR_DR); n++) {
        rx_put(uart_in(UART_RBR));
        lsr = uart_in(UART_LSR);
        if (lsr & UART_LSR_OE)
            overruns++;
    }
}

static void flush_line(void)
{
    line[line_len] = '\0';
    kprintf("echo line=%s\n", line);
    line_len = 0;
}

static void consume(uint8_t b)
{
    received++;
    fnv = (fnv ^ b) * 16777619u;
    if (!cfg.echo_lines)
        return;
    /* A line ends at \n, \r or \r\n (a terminal in raw mode sends \r). */
    bool crlf = after_cr && b == '\n';
    after_cr = b == '\r';
    if (crlf)
        return;
    if (b == '\n' || b == '\r') {
        flush_line();
        return;
    }
    line[line_len++] = (b >= ' ' && b <= '~') ? (char)b : '?';
    if (line_len == LINE_MAX)
        flush_line();
}

__attribute__((noreturn)) static void echo_finish(void)
{
    uart_set_rx_irq(0);
    if (line_len)
        flush_line();
    kprintf("echo bytes=%lu fnv1a=0x%08x overruns=%lu\n", received, fnv, overruns);
    kernel_exit(EXIT_OK);
}

__attribute__((noreturn)) void echo_run(void)
{
    const uint8_t *early;
    size_t n = uart_early_rx(&early);

    __asm__ volatile("cli");
    for (size_t i = 0; i < n && received < cfg.echo; i++)
        consume(early[i]);

    console_rx_hook = echo_rx;
    pic_init(PIC_UNMASK(IRQ_COM1));
    uart_set_rx_irq(UART_IER_RDI | UART_IER_RLSI);
    kprintf("echo ready\n");

    for (;;) {
        while (rx_tail != rx_head && received < cfg.echo)
            consume(rx_ring[rx_tail++ % RX_RING]);
        if (received >= cfg.echo)
            echo_finish();
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
}
