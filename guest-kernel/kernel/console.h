/* kernel/console.h - ordered, whole-line output to COM1 from every CPU,
 * polled or interrupt-driven. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum uart_mode { UART_IRQ, UART_POLL };

void console_set_mode(enum uart_mode m);
/* One call's bytes reach the UART together, never interleaved with
 * another CPU's. may_sleep: a task's write(), which may wait with
 * interrupts on for room in the ring. */
void console_write(const char *s, size_t n, bool may_sleep);
void console_irq(void);
/* Called from IRQ4 with the IIR value for receive causes (RLS, RDA,
 * character timeout) when set. */
extern void (*console_rx_hook)(uint8_t iir);
void console_sync(void);
/* COM1's interrupt is routed and unmasked now: re-raise what it missed. */
void console_irq_routed(void);
uint64_t console_stalls(void);
/* quiet on the command line: kprintf keeps only error, warn, exception
 * and proc lines. */
extern bool console_quiet;
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
