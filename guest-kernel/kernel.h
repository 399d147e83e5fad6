/* kernel.h - constants and declarations shared by the ring-0 parts of the
 * guest kernel. Everything here is freestanding: no libc. */
#pragma once

#include <stdarg.h>
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
#define EXIT_SELFTEST_FAILED 5 /* selftest probe failed, or a benchmark could not run */

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
enum nmi_mode { NMI_COUNT, NMI_FINISH };
enum bench_mode { BENCH_NONE, BENCH_PIT, BENCH_SERIAL, BENCH_IRQ };
enum intc_mode { INTC_PIC, INTC_IOAPIC };
/* What the kernel does after boot: run tasks (default) or one of the
 * special modes, which are mutually exclusive. */
enum run_mode { MODE_TASKS, MODE_SELFTEST, MODE_BENCH_PIT, MODE_BENCH_SERIAL, MODE_ECHO, MODE_BENCH_IRQ };

/* irqs=: scripted interrupt lines (irq.c). */
#define MAX_IRQS 8
#define MAX_TOKEN_IRQS 64 /* irqs= text kept for the config line */
enum irq_via { VIA_PIC, VIA_IOAPIC, VIA_MSI };
struct irq_line {
    uint16_t gsi;
    uint8_t level;  /* :level given */
    uint8_t msi;    /* :msiVEC given; vector = VEC */
    uint8_t vector; /* filled in by irq_validate() */
    uint8_t via;    /* enum irq_via, filled in by irq_validate() */
    uint64_t count;    /* handler runs that found the device's interrupt pending */
    uint64_t spurious; /* handler runs that found nothing pending */
};

struct config {
    uint32_t tasks;
    uint32_t quantum_ms;
    uint32_t hz;
    uint32_t runtime_ms;
    uint32_t progress_ms;
    uint32_t task_ms;
    enum uart_mode uart;
    enum crash_mode crash;
    enum nmi_mode nmi; /* finish: an NMI ends the run as runtime_ms would */
    uint32_t selftest;   /* 0/1 */
    enum bench_mode bench;
    uint32_t bench_ms;
    uint32_t bench_bytes;
    uint32_t tsc_khz;    /* 0: calibrate with the PIT */
    uint32_t echo;       /* bytes to receive; 0: off */
    uint32_t echo_lines; /* 0/1 */
    enum intc_mode intc;
    uint32_t nirqs;
    struct irq_line irqs[MAX_IRQS];
    /* Derived from the above once parsing succeeded. */
    uint32_t quantum_ticks;
    uint64_t runtime_ticks;
    enum run_mode mode;
};

extern struct config cfg;

/* cmdline.c */
void config_defaults(struct config *c);
/* Returns false after printing an error line. */
bool config_parse(struct config *c, const char *cmdline);
/* Prints `error option=K value=V reason=R`; returns false. */
bool parse_error(const char *k, size_t kn, const char *v, size_t vn, const char *reason);
void config_print(const struct config *c);
const char *uart_mode_name(enum uart_mode m);
const char *crash_mode_name(enum crash_mode m);
const char *nmi_mode_name(enum nmi_mode m);
const char *bench_mode_name(enum bench_mode m);
const char *intc_mode_name(enum intc_mode m);

/* gdt.c */
void gdt_init(void);
void tss_set_rsp0(uint64_t rsp0);

/* idt.c */
void idt_init(void);
void idt_load_empty(void);
void idt_set_handler(unsigned vector, void (*entry)(void));

/* pic.c */
#define PIC_UNMASK(irq) (1u << (irq))
void pic_init(unsigned unmasked); /* bit n set: IRQ n (0-15) unmasked */
void pic_set_mask(unsigned unmasked);
void pic_eoi(unsigned irq);
bool pic_is_spurious(unsigned irq);

/* pit.c */
#define PIT_HZ 1193182u
#define PIT_LATCH_50MS (PIT_HZ / 20) /* Linux's CAL2_LATCH: 59659 */
uint32_t pit_divisor(uint32_t hz); /* channel 0 divisor for hz; 65536 when too slow */
void pit_init(uint32_t hz);
void pit2_gate_on(void);  /* port 0x61: gate 2 high, speaker off */
void pit2_gate_off(void); /* port 0x61: gate 2 low, speaker off */
void pit2_oneshot(uint16_t count); /* channel 2, mode 0, LSB then MSB */
bool pit2_out(void);      /* port 0x61 bit 5 */
/* Linux's pit_calibrate_tsc() with a 50 ms one-shot on channel 2. */
struct pit_cal {
    bool ok;              /* OUT2 read 0 first, then went to 1 within the bounds */
    uint8_t out_initial;  /* OUT2 right after programming (0 expected) */
    uint8_t out_final;
    uint64_t polls;       /* port 0x61 reads that saw OUT2 low */
    uint64_t cycles;      /* TSC from programming to the last low read */
    uint64_t tsc_khz;
    uint64_t window;         /* uncertainty of cycles, in TSC cycles */
};
void pit_calibrate_tsc(struct pit_cal *c, uint64_t max_cycles, unsigned attempts);

/* uart.c: raw 16550A access */
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

/* console.c: ordered output to COM1 in poll or irq mode */
void console_set_mode(enum uart_mode m);
void console_write(const char *s, size_t n, bool may_sleep);
void console_irq(void);
/* Called from IRQ4 with the IIR value for receive causes (RLS, RDA,
 * character timeout) when set. */
extern void (*console_rx_hook)(uint8_t iir);
void console_sync(void);
uint64_t console_stalls(void);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);

/* sched.c */
void sched_init(void);
/* n tasks all entering `entry` with rdi = arg (instead of the task id). */
void sched_init_custom(unsigned n, void (*entry)(long), long arg);
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
/* IRQ0 goes here when set (special modes), else to sched_tick(). */
extern void (*irq0_hook)(void);
void trap(struct trapframe *tf);
uint64_t trap_spurious_count(void);
uint64_t trap_nmi_count(void);

/* selftest.c, bench.c, echo.c: the special modes */
__attribute__((noreturn)) void selftest_run(void);
__attribute__((noreturn)) void bench_pit_run(void);
__attribute__((noreturn)) void bench_serial_run(void);
__attribute__((noreturn)) void bench_serial_done(long code);
__attribute__((noreturn)) void echo_run(void);
extern volatile uint64_t irq0_tsc; /* written by irq0_tsc_entry (isr.S) */
void irq0_tsc_entry(void);

/* irq.c: irqs= lines, IOAPIC, LAPIC, bench=irq */
#define IRQ_ACK_PORT 0x520
#define IRQ_ACK_NOTHING_PENDING 0 /* read back after the write; 1: pending, 0xFFFF: no such device */
bool irq_parse(struct config *c, const char *v, size_t vn); /* false: error printed */
bool irq_validate(struct config *c);                         /* false: error printed */
void irq_print_config(const struct config *c);
unsigned irq_setup(void); /* programs IOAPIC/LAPIC; returns PIC lines to unmask */
extern uint8_t irq_line_of_vector[256]; /* vector -> irqs= index + 1, 0: none */
bool irq_dispatch(unsigned vector);       /* false: spurious IRQ7/15, not handled */
void irq_summary(void);
__attribute__((noreturn)) void bench_irq_run(void);
void irq_bench_entry(void); /* isr.S */
extern volatile uint16_t irq_bench_gsi;
extern volatile uint64_t irq_bench_vector;

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

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
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
