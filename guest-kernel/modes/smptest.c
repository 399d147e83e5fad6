/* smptest.c - smptest=N: is mutual exclusion real on this machine? Every
 * online CPU, released at once, takes one spinlock N times and bumps a
 * plain counter under it, and bumps another with a locked add; the boot
 * CPU then checks both totals. Ring 0 runs in KVM's instruction emulator
 * on this project's hosts, so this checks the emulator's xchg and lock
 * prefix between vCPUs too, not only the kernel's lock. */
#include "modes/modes.h"

#include "arch/cpu.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/spinlock.h"

static struct spinlock lock = SPINLOCK_INIT("smptest");
static volatile uint64_t under_lock; /* plain increments, under the lock only */
static volatile uint64_t atomic_adds;
static volatile uint32_t started, done;
static volatile bool go;

void smptest_cpu(void)
{
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (!go)
        cpu_relax();
    for (uint32_t i = 0; i < cfg.smptest; i++) {
        spin_lock(&lock);
        under_lock = under_lock + 1; /* a load and a store: only the lock keeps it whole */
        spin_unlock(&lock);
        __atomic_add_fetch(&atomic_adds, 1, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
}

__attribute__((noreturn)) void smptest_run(unsigned online)
{
    /* The APs are in their idle loops already or on their way in; wait
     * until each has checked in, bounded in case one never comes. */
    for (uint64_t spins = 0; started < online - 1 && spins < 100000000; spins++)
        cpu_relax();
    unsigned cpus = started + 1;
    go = true;
    smptest_cpu();
    for (uint64_t spins = 0; done < cpus && spins < 1000000000; spins++)
        cpu_relax();
    uint64_t expected = (uint64_t)cpus * cfg.smptest;
    bool ok = done == cpus && under_lock == expected && atomic_adds == expected;
    kprintf("smptest cpus=%u rounds=%u locked=%lu atomic=%lu expected=%lu result=%s\n", cpus,
            cfg.smptest, under_lock, atomic_adds, expected, ok ? "pass" : "fail");
    kernel_exit(ok ? EXIT_OK : EXIT_SELFTEST_FAILED);
}
