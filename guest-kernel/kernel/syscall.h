/* kernel/syscall.h - int $0x80 from ring 3 (numbers in user/abi.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "kernel/trap.h"

void syscall_dispatch(struct trapframe *tf);
bool syscall_from_ud(struct trapframe *tf);
uint64_t syscall_count(void);
uint64_t syscall_count_via_ud(void);
