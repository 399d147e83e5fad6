/* drivers/uart.h - raw access to the 16550A at COM1; policy (the ring,
 * the modes) lives in kernel/console.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRQ_COM1 4
#define UART_RBR 0
#define UART_THR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_EFR 2 /* with LCR = 0xBF on chips that have it */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
void uart_init(void);
uint8_t uart_in(unsigned reg);
void uart_out(unsigned reg, uint8_t v);
void uart_restore_console(void); /* back to the state uart_init() left */
void uart_set_rx_irq(uint8_t ier_bits);
void uart_pulse_ier(void);
/* Bytes that were waiting in the receiver before uart_init() enabled the
 * FIFOs (which would have discarded them). */
size_t uart_early_rx(const uint8_t **bytes);
void uart_putc_poll(char c);
void uart_write_poll(const char *s, size_t n);
void uart_wait_idle(void);
void uart_set_tx_irq(bool on);
uint8_t uart_read_iir(void);
void uart_write_thr(char c);
void uart_write_thr_burst(const char *p, uint32_t n);
void uart_ack_other(uint8_t iir);
