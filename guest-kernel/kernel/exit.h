/* kernel/exit.h - how the run ends: the exit codes written to debug-exit
 * (abi/debug_exit.h). */
#pragma once

#include "abi/debug_exit.h"

/* Prints `exit code=N` and writes debug-exit; from any CPU. */
__attribute__((noreturn)) void kernel_exit(int code);
