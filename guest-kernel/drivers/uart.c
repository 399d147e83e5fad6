/* uart.c - raw access to the 16550A at COM1. Policy (ring buffer, modes)
 * lives in console.c. Every access is a port I/O, which is a VM exit, so
 * callers keep them few. */
#include "drivers/uart.h"

#include "arch/x86.h"

#define COM1 0x3F8
#define THR (COM1 + UART_THR) /* DLAB=0, write */
#define RBR (COM1 + UART_RBR) /* DLAB=0, read */
#define DLL (COM1 + UART_DLL) /* DLAB=1 */
#define IER (COM1 + UART_IER) /* DLAB=0 */
#define DLM (COM1 + UART_DLM) /* DLAB=1 */
#define IIR (COM1 + UART_IIR) /* read */
#define FCR (COM1 + UART_FCR) /* write */
#define LCR (COM1 + UART_LCR)
#define MCR (COM1 + UART_MCR)
#define LSR (COM1 + UART_LSR)
#define MSR (COM1 + UART_MSR)

/* Bounds every LSR poll: if no UART answers (the port reads 0xFF, which has
 * THRE set, or 0x00 forever) the kernel must not hang in ring 0. */
#define POLL_LIMIT 100000

/* IER is shared: the receive bits (echo mode) stay on while console.c
 * switches ETBEI on and off. */
static uint8_t ier_rx;
static bool ier_tx;

static uint8_t early_rx[16];
static size_t early_rx_len;

void uart_init(void)
{
    /* Input may already be waiting: a byte in RBR (FIFOs are off after
     * reset), which enabling the FIFOs would discard. So: loopback first,
     * which disconnects the receiver from the line (a VMM that holds input
     * back while the receiver has no room, as vmm does, then sends nothing
     * more), keep what RBR holds for echo mode, enable and clear the FIFOs,
     * set the line up, and leave loopback last, which connects the line to
     * an empty 16-byte FIFO. */
    outb(MCR, 0x10);  /* LOOP; OUT2 off: no interrupt either */
    uint8_t lsr = inb(LSR);
    while (lsr != 0xFF && (lsr & UART_LSR_DR) && early_rx_len < sizeof(early_rx)) {
        early_rx[early_rx_len++] = inb(RBR);
        lsr = inb(LSR);
    }
    outb(FCR, 0xC7);  /* enable and clear FIFOs, 14-byte RX trigger */
    outb(IER, 0x00);  /* no interrupts until console.c asks for them */
    outb(LCR, 0x80);  /* DLAB */
    outb(DLL, 0x01);  /* divisor 1: 115200 baud */
    outb(DLM, 0x00);
    outb(LCR, 0x03);  /* 8N1, DLAB off */
    outb(MCR, 0x0B);  /* DTR | RTS | OUT2 (OUT2 gates the IRQ line on a PC) */
}

size_t uart_early_rx(const uint8_t **bytes)
{
    *bytes = early_rx;
    return early_rx_len;
}

uint8_t uart_in(unsigned reg)
{
    return inb((uint16_t)(COM1 + reg));
}

void uart_out(unsigned reg, uint8_t v)
{
    outb((uint16_t)(COM1 + reg), v);
}

/* After the selftest probes: the line settings, FIFOs and modem control of
 * uart_init(), interrupts as the console had them, error and delta bits
 * cleared. */
void uart_restore_console(void)
{
    outb(IER, 0x00);
    outb(LCR, 0x80);
    outb(DLL, 0x01);
    outb(DLM, 0x00);
    outb(LCR, 0x03);
    outb(FCR, 0xC7);
    outb(MCR, 0x0B);
    (void)inb(LSR);
    (void)inb(MSR);
    if (ier_rx || ier_tx)
        outb(IER, (uint8_t)(ier_rx | (ier_tx ? UART_IER_THRI : 0)));
}

void uart_putc_poll(char c)
{
    for (int i = 0; i < POLL_LIMIT && !(inb(LSR) & UART_LSR_THRE); i++)
        ;
    outb(THR, (uint8_t)c);
}

/* uart_putc_poll() for a whole buffer, with the loop kept tight (ring-0
 * instructions are expensive here): per byte one LSR read that normally
 * finds THRE at once, and one THR write. */
void uart_write_poll(const char *s, size_t n)
{
    for (const char *end = s + n; s != end; s++) {
        for (int i = 0; i < POLL_LIMIT && !(inb(LSR) & UART_LSR_THRE); i++)
            ;
        outb(THR, (uint8_t)*s);
    }
}

/* Waits until the last byte has left the shift register, so nothing is
 * cut off when the VM exits right after. */
void uart_wait_idle(void)
{
    for (int i = 0; i < POLL_LIMIT && !(inb(LSR) & UART_LSR_TEMT); i++)
        ;
}

void uart_set_tx_irq(bool on)
{
    ier_tx = on;
    outb(IER, (uint8_t)(ier_rx | (on ? UART_IER_THRI : 0)));
}

void uart_set_rx_irq(uint8_t ier_bits)
{
    ier_rx = ier_bits & (UART_IER_RDI | UART_IER_RLSI);
    outb(IER, (uint8_t)(ier_rx | (ier_tx ? UART_IER_THRI : 0)));
}

/* Drops the interrupt output and raises it again if a cause is still
 * pending, so that an edge-triggered 8259 sees a fresh edge. */
void uart_pulse_ier(void)
{
    outb(IER, 0);
    outb(IER, (uint8_t)(ier_rx | (ier_tx ? UART_IER_THRI : 0)));
}

uint8_t uart_read_iir(void)
{
    return inb(IIR);
}

void uart_write_thr(char c)
{
    outb(THR, (uint8_t)c);
}

/* One byte per port write (no rep outsb), as a driver for a real 16550A
 * does; the caller knows the FIFO has room for n. */
void uart_write_thr_burst(const char *p, uint32_t n)
{
    for (const char *end = p + n; p != end; p++)
        outb(THR, (uint8_t)*p);
}

/* Clears interrupt causes other than THRE that nobody handles (a model
 * that raises them anyway must not leave the line stuck high). */
void uart_ack_other(uint8_t iir)
{
    switch (iir & 0x0E) {
    case 0x06: /* receiver line status */
        (void)inb(LSR);
        break;
    case 0x04: /* received data */
    case 0x0C: /* character timeout */
        (void)inb(RBR);
        break;
    case 0x00: /* modem status */
        (void)inb(MSR);
        break;
    default:
        break;
    }
}
