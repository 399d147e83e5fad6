/* syscall.c - system calls from ring 3 through int $0x80: rax = number,
 * rdi/rsi/rdx = args, result in rax. See user/abi.h for the numbers.
 *
 * Two ways in, one dispatcher. Normally the CPU delivers int $0x80 through
 * the DPL-3 gate as vector 0x80. On the KVM this project runs on, a
 * software interrupt from ring 3 goes to KVM's instruction emulator, which
 * cannot deliver it in long mode and injects #UD instead, with rip still on
 * the instruction (hardware interrupts and exceptions are unaffected, and
 * the syscall instruction is no better: it lands at LSTAR still at CPL 3).
 * So the #UD handler recognises "int $0x80" in user code, steps over it
 * and dispatches it as a syscall: the same trapframe, the same return path
 * (iretq), the same ABI for the task. */
#include "kernel/syscall.h"

#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/irq.h"
#include "kernel/sched.h"
#include "kernel/tick.h"
#include "kernel/trace.h"

static volatile uint64_t calls;
static volatile uint64_t calls_via_ud;

static long sys_write(uint64_t fd, uint64_t buf, uint64_t len)
{
    if (fd != 1 && fd != 2)
        return -E_BADF;
    /* The whole buffer must lie in the user page: a task must not be able
     * to make the kernel print kernel memory. */
    if (buf < USER_BASE || buf >= USER_LIMIT || len > USER_LIMIT - buf)
        return -E_FAULT;
    console_write((const char *)buf, len, true);
    return (long)len;
}

static long sys_sleep_ms(uint64_t ms)
{
    if (ms > 1000000000)
        return -E_INVAL;
    uint64_t ticks = (ms * cfg.hz + 999) / 1000;
    sched_sleep_until(jiffies + (ticks ? ticks : 1));
    current()->wakeups++;
    return 0;
}

static long sys_wait_irq(uint64_t gsi)
{
    int line = gsi > 0xFFFF ? -1 : irq_line_index((uint16_t)gsi);
    if (line < 0)
        return -E_INVAL;
    irq_wait(line);
    return 0;
}

void syscall_dispatch(struct trapframe *tf)
{
    long ret;

    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    if (tracing())
        trace_record(TRACE_SYSCALL, (uint32_t)tf->rax, trace_task(current()->id), 0);
    switch (tf->rax) {
    case SYS_EXIT:
        sched_exit_current((long)tf->rdi);
    case SYS_WRITE:
        ret = sys_write(tf->rdi, tf->rsi, tf->rdx);
        break;
    case SYS_YIELD:
        sched_yield();
        ret = 0;
        break;
    case SYS_GETPID:
        ret = sched_current_id();
        break;
    case SYS_TICKS:
        ret = (long)jiffies;
        break;
    case SYS_SLEEP_MS:
        ret = sys_sleep_ms(tf->rdi);
        break;
    case SYS_WAIT_IRQ:
        ret = sys_wait_irq(tf->rdi);
        break;
    case SYS_GETCPU:
        ret = (long)sched_current_cpu();
        break;
    default:
        ret = -E_NOSYS;
        break;
    }
    tf->rax = (uint64_t)ret;
}

/* Called for #UD. True if it was a user int $0x80, now handled. */
bool syscall_from_ud(struct trapframe *tf)
{
    if ((tf->cs & 3) != 3 || tf->rip < USER_BASE || tf->rip > USER_LIMIT - 2)
        return false;
    const uint8_t *insn = (const uint8_t *)tf->rip;
    if (insn[0] != 0xCD || insn[1] != SYSCALL_VECTOR)
        return false;
    tf->rip += 2; /* the iret frame of a real int $0x80 points past it */
    __atomic_add_fetch(&calls_via_ud, 1, __ATOMIC_RELAXED);
    syscall_dispatch(tf);
    return true;
}

uint64_t syscall_count(void)
{
    return calls;
}

uint64_t syscall_count_via_ud(void)
{
    return calls_via_ud;
}
