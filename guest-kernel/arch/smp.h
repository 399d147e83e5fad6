/* arch/smp.h - bringing the application processors up. */
#pragma once


/* Starts every AP in cpus[] in turn through the real-mode trampoline and
 * waits for each to report online; prints a cpu line per CPU. Returns the
 * number of CPUs online (the BSP included). */
unsigned smp_boot_aps(void);
/* Per-CPU set-up on an AP, from the trampoline; never returns. */
__attribute__((noreturn)) void ap_main(void);
