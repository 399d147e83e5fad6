/* The exit-cost guest: prints "S\n" on COM1, then does LOOPS accesses that each
 * exit to the VMM (EXIT_PIO: `out` to port 0x80; EXIT_MMIO: a 32-bit store to
 * vmm's scratch register at 0xFEB00000, unmapped memory for bench_reference),
 * prints "E\n" and exits through debug-exit. Timing between the two markers
 * leaves boot and teardown out. The same image runs under vmm and under
 * bench_reference. 32-bit protected mode, paging off, as Multiboot enters. */

#ifndef LOOPS
#define LOOPS 200000
#endif

    .text
    .code32
    .balign 4
    .long 0x1BADB002
    .long 0x00000003
    .long -(0x1BADB002 + 0x00000003)

    .global _start
_start:
    mov $0x3f8, %dx
    mov $'S', %al
    out %al, %dx
    mov $'\n', %al
    out %al, %dx
    mov $LOOPS, %ecx
#ifdef EXIT_MMIO
    mov $0xFEB00000, %edi
1:  mov %ecx, (%edi)
#else
1:  out %al, $0x80
#endif
    dec %ecx
    jnz 1b
    mov $'E', %al
    out %al, %dx
    mov $'\n', %al
    out %al, %dx
    mov $0xf4, %dx
    xor %al, %al
    out %al, %dx
2:  hlt
    jmp 2b

    .section .note.GNU-stack, "", @progbits
