/* spinlock.c - test-and-test-and-set on xchg, with xv6's check that a CPU
 * never takes a lock it already holds (that would spin for ever). */
#include "kernel/spinlock.h"

#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/sched.h"

void spin_lock(struct spinlock *l)
{
    const void *me = current();
    if (l->locked && l->holder == me) {
        l->locked = 0; /* let the report through if it is the console's */
        kprintf("error lock=%s reason=double_acquire\n", l->name ? l->name : "?");
        kernel_exit(EXIT_EXCEPTION);
    }
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (l->locked)
            cpu_relax();
    l->holder = me;
}

void spin_unlock(struct spinlock *l)
{
    l->holder = 0;
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
