/* The smallest useful guest: it prints "!\n" on COM1 and exits through
 * debug-exit at once. Start-up benchmarks time vmm (and QEMU) against it: exec
 * to the first serial byte, and exec to exit. 32-bit code, no stack.
 *
 * With -DIDLE it halts for good after the byte instead of exiting, so the
 * memory of a live VMM process can be read.
 *
 * Built twice from this file: with a Multiboot header (vmm, bench_reference),
 * and with -DPVH, a PVH entry note instead (XEN_ELFNOTE_PHYS32_ENTRY), which is
 * how QEMU's microvm machine boots an ELF without option ROMs. Both enter here
 * in 32-bit protected mode with paging off. */

#ifdef PVH
    .section .note.Xen, "a", @note
    .balign 4
    .long 4              /* name size: "Xen\0" */
    .long 4              /* descriptor size */
    .long 18             /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start
    .balign 4
#endif

    .text
    .code32
#ifndef PVH
    /* The header must sit in the first 8 KiB of the file: first thing in .text. */
    .balign 4
    .long 0x1BADB002                 /* magic */
    .long 0x00000003                 /* page-align modules, memory info */
    .long -(0x1BADB002 + 0x00000003) /* checksum */
#endif

    .global _start
_start:
    mov $0x3f8, %dx
    mov $'!', %al
    out %al, %dx
    mov $'\n', %al
    out %al, %dx
#ifdef IDLE
    /* Stay up, for memory measurements of a live process: halt for good. */
    cli
#else
    mov $0xf4, %dx
    xor %al, %al
    out %al, %dx
#endif
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
