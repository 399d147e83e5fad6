/* uart.c - raw access to the 16550A at COM1. Policy (ring buffer, modes)
 * lives in console.c. Every access is a port I/O, which is a VM exit, so
 * callers keep them few. */
#include "kernel.h"

#define COM1 0x3F8
#define THR (COM1 + 0) /* DLAB=0, write */
#define RBR (COM1 + 0) /* DLAB=0, read */
#define DLL (COM1 + 0) /* DLAB=1 */
#define IER (COM1 + 1) /* DLAB=0 */
#define DLM (COM1 + 1) /* DLAB=1 */
#define IIR (COM1 + 2) /* read */
#define FCR (COM1 + 2) /* write */
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)

#define IER_ETBEI 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

/* Bounds every LSR poll: if no UART answers (the port reads 0xFF, which has
 * THRE set, or 0x00 forever) the kernel must not hang in ring 0. */
#define POLL_LIMIT 100000

void uart_init(void)
{
    outb(IER, 0x00);  /* no interrupts until console.c asks for them */
    outb(LCR, 0x80);  /* DLAB */
    outb(DLL, 0x01);  /* divisor 1: 115200 baud */
    outb(DLM, 0x00);
    outb(LCR, 0x03);  /* 8N1, DLAB off */
    outb(FCR, 0xC7);  /* enable and clear FIFOs, 14-byte RX trigger */
    outb(MCR, 0x0B);  /* DTR | RTS | OUT2 (OUT2 gates the IRQ line on a PC) */
}

void uart_putc_poll(char c)
{
    for (int i = 0; i < POLL_LIMIT && !(inb(LSR) & LSR_THRE); i++)
        ;
    outb(THR, (uint8_t)c);
}

/* Waits until the last byte has left the shift register, so nothing is
 * cut off when the VM exits right after. */
void uart_wait_idle(void)
{
    for (int i = 0; i < POLL_LIMIT && !(inb(LSR) & LSR_TEMT); i++)
        ;
}

void uart_set_tx_irq(bool on)
{
    outb(IER, on ? IER_ETBEI : 0);
}

uint8_t uart_read_iir(void)
{
    return inb(IIR);
}

void uart_write_thr(char c)
{
    outb(THR, (uint8_t)c);
}

/* Clears interrupt causes other than THRE (none are enabled, but a model
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
