/* trampoline.S - where an application processor starts: real mode at the
 * STARTUP IPI's page (CS = page << 8, IP = 0), then 32-bit protected mode,
 * then long mode on the kernel's page tables, then ap_main() on the stack
 * the boot CPU left in tramp_stack. Linked into the kernel image and
 * copied to AP_TRAMPOLINE (below 1 MiB, page-aligned) by arch/smp.c, so
 * every address here is written relative to the copy. Kept short: ring-0
 * code runs in KVM's instruction emulator on this project's hosts. */

#define AP_TRAMPOLINE 0x8000 /* arch/smp.c */
#define REL(x) ((x) - trampoline_start + AP_TRAMPOLINE)

    .section .rodata
    .p2align 4
    .globl trampoline_start, trampoline_end
trampoline_start:
    .code16
    cli
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl REL(tramp_gdt_ptr)
    movl %cr0, %eax
    orl $0x1, %eax /* PE */
    movl %eax, %cr0
    ljmpl $0x18, $REL(tramp_32)

    .code32
tramp_32:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %cr4, %eax
    orl $0x20, %eax /* PAE */
    movl %eax, %cr4
    movl REL(tramp_cr3), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx /* EFER */
    rdmsr
    orl $0x100, %eax /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80010000, %eax /* PG | WP */
    movl %eax, %cr0
    ljmpl $0x08, $REL(tramp_64)

    .code64
tramp_64:
    movq REL(tramp_stack), %rsp
    movq REL(tramp_entry), %rax
    jmpq *%rax

    /* Same selectors as the kernel's GDT for 0x08 and 0x10, so nothing
     * needs reloading once the CPU loads its own GDT; 0x18 is the 32-bit
     * code segment of the middle step. */
    .p2align 3
tramp_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF /* 0x08 kernel code, 64-bit */
    .quad 0x00CF92000000FFFF /* 0x10 kernel data */
    .quad 0x00CF9A000000FFFF /* 0x18 kernel code, 32-bit */
tramp_gdt_ptr:
    .word tramp_gdt_ptr - tramp_gdt - 1
    .long REL(tramp_gdt)
    .p2align 3
    .globl tramp_cr3, tramp_stack, tramp_entry
tramp_cr3:
    .long 0
    .long 0
tramp_stack:
    .quad 0
tramp_entry:
    .quad 0
trampoline_end:

    .section .note.GNU-stack, "", @progbits
