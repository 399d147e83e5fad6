/* kernel.h - constants and declarations shared by the ring-0 parts of the
 * guest kernel. Everything here is freestanding: no libc. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

/* GDT layout, fixed by boot.S. User data sits below user code so the order
 * would also suit syscall/sysret, should that path ever be added. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define TSS_SEL 0x28

#define KSTACK_SIZE 8192

/* PIC vectors after remapping. */
#define IRQ_BASE 0x20
#define IRQ_TIMER 0
#define IRQ_COM1 4
#define SYSCALL_VECTOR 0x80

/* Exit codes written to the debug-exit port (documented in README.md). */
#define EXIT_OK 0
#define EXIT_TASK_FAILED 1
#define EXIT_BAD_OPTION 2
#define EXIT_EXCEPTION 3
#define EXIT_BAD_BOOT 4

/* Register frame built by isr.S: GPRs pushed by isr_common (r15 lowest),
 * then vector and error code pushed by the stub, then the CPU's iret frame. */
struct trapframe {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

enum uart_mode { UART_IRQ, UART_POLL };
enum crash_mode { CRASH_NONE, CRASH_UD, CRASH_PF, CRASH_GP, CRASH_USER, CRASH_TRIPLE };

struct config {
    uint32_t tasks;
    uint32_t quantum_ms;
    uint32_t hz;
    uint32_t runtime_ms;
    uint32_t progress_ms;
    uint32_t task_ms;
    enum uart_mode uart;
    enum crash_mode crash;
    /* Derived from the above once parsing succeeded. */
    uint32_t quantum_ticks;
    uint64_t runtime_ticks;
};

extern struct config cfg;

/* cmdline.c */
void config_defaults(struct config *c);
/* Returns false after printing an error line. */
bool config_parse(struct config *c, const char *cmdline);
void config_print(const struct config *c);
const char *uart_mode_name(enum uart_mode m);
const char *crash_mode_name(enum crash_mode m);

/* gdt.c */
void gdt_init(void);
void tss_set_rsp0(uint64_t rsp0);

/* idt.c */
void idt_init(void);
void idt_load_empty(void);

/* pic.c */
void pic_init(void);
void pic_eoi(unsigned irq);
bool pic_is_spurious(unsigned irq);

/* pit.c */
void pit_init(uint32_t hz);

/* uart.c: raw 16550A access */
void uart_init(void);
void uart_putc_poll(char c);
void uart_wait_idle(void);
void uart_set_tx_irq(bool on);
uint8_t uart_read_iir(void);
void uart_write_thr(char c);
void uart_ack_other(uint8_t iir);

/* console.c: ordered output to COM1 in poll or irq mode */
void console_set_mode(enum uart_mode m);
void console_write(const char *s, size_t n, bool may_sleep);
void console_irq(void);
void console_sync(void);
uint64_t console_stalls(void);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sched.c */
void sched_init(void);
__attribute__((noreturn)) void sched_start(void);
void sched_tick(void);
void sched_return_to_user(void);
void sched_yield(void);
int sched_current_id(void);
uint64_t sched_ticks(void);
__attribute__((noreturn)) void sched_exit_current(long code);

/* syscall.c */
void syscall_dispatch(struct trapframe *tf);
uint64_t syscall_count(void);
uint64_t syscall_count_via_ud(void);
bool syscall_from_ud(struct trapframe *tf);

/* traps.c */
void trap(struct trapframe *tf);
uint64_t trap_spurious_count(void);
uint64_t trap_nmi_count(void);

/* main.c */
__attribute__((noreturn)) void kernel_exit(int code);

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

/* Ticks to milliseconds at the configured nominal rate. */
static inline uint64_t ticks_to_ms(uint64_t ticks)
{
    return ticks * 1000 / cfg.hz;
}
