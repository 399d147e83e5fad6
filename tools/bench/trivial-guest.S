/* The smallest useful Multiboot guest: it prints one byte on COM1 and exits
 * through debug-exit at once. Start-up benchmarks time vmm (and QEMU) against it:
 * exec to the first serial byte, and exec to exit. 32-bit code, no stack. */

    .text
    .code32
    /* The header must sit in the first 8 KiB of the file: first thing in .text. */
    .balign 4
    .long 0x1BADB002                 /* magic */
    .long 0x00000003                 /* page-align modules, memory info */
    .long -(0x1BADB002 + 0x00000003) /* checksum */

    .global _start
_start:
    mov $0x3f8, %dx
    mov $'!', %al
    out %al, %dx
    mov $'\n', %al
    out %al, %dx
    mov $0xf4, %dx
    xor %al, %al
    out %al, %dx
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
