/* kernel/spinlock.h - the lock around everything CPUs share (xv6's
 * spinlock.c in shape). The kernel runs with interrupts off except where
 * it waits, so a holder cannot be interrupted and taking a lock needs no
 * cli of its own; a lock must never be held across such a wait. xchg has
 * an implicit lock prefix, which KVM's instruction emulator honours too. */
#pragma once

#include <stdint.h>

#include "arch/x86.h"

struct spinlock {
    volatile uint32_t locked;
    const char *name;
    const void *holder; /* the holder's kernel stack base; 0: free */
};

#define SPINLOCK_INIT(n) { 0, (n), 0 }

void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
