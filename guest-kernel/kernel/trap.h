/* kernel/trap.h - the register frame of an interrupt and the per-vector
 * dispatch after arch/isr.S saved it. */
#pragma once

#include <stdint.h>

#define SYSCALL_VECTOR 0x80
/* Not a vector: what arch/isr.S's syscall_entry puts in the trapframe's
 * vector field for the syscall instruction, which has none. */
#define SYSCALL64_VECTOR 0x100
/* Vectors of the kernel's own LAPIC interrupts: the top class, above every
 * device vector, so a tick or an IPI is not held up behind a device. */
#define LAPIC_TIMER_VECTOR 0xEF
#define IPI_TICK_VECTOR 0xF0
#define IPI_RESCHED_VECTOR 0xF1
#define IPI_STOP_VECTOR 0xF2
#define IPI_BENCH_VECTOR 0xF3 /* bench=ipi's ping and pong */

/* GPRs pushed by isr_common (r15 lowest), then vector and error code
 * pushed by the stub, then the CPU's iret frame. */
struct trapframe {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_t)(unsigned vector);
/* One handler per vector from 32 up; a vector without one is counted as
 * spurious. */
void trap_set_handler(unsigned vector, irq_handler_t h);
void trap(struct trapframe *tf);
/* "#DE", "#DB", ... by exception vector, for reports. */
extern const char *const exception_names[32];
uint64_t trap_spurious_count(void);
uint64_t trap_nmi_count(void);
