/* boot.S - Multiboot v1 header, static GDT and page tables, and the 32-bit
 * entry that switches to long mode.
 *
 * Ring-0 code runs under an instruction emulator on our KVM, so boot does no
 * loops: the page tables are assembled into the image and the path from
 * _start to kmain is a few dozen instructions. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory info */

#define KSTACK_SIZE 8192 /* kernel/sched.h */

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_U 0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS 0x080

    .section .multiboot, "a"
    .p2align 2
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

/* ------------------------------------------------------------------------ */
    .section .boot, "ax"
    .code32
    .globl _start
_start:
    /* No stack yet (Multiboot gives none), so keep everything in registers. */
    movl %eax, mb_magic
    movl %ebx, mb_info

    lgdt gdt_ptr

    movl $pml4, %eax
    movl %eax, %cr3

    movl %cr4, %eax
    orl $0x20, %eax /* PAE */
    movl %eax, %cr4

    movl $0xC0000080, %ecx /* EFER */
    rdmsr
    orl $0x100, %eax /* LME */
    wrmsr

    movl %cr0, %eax
    orl $0x80010001, %eax /* PG | WP | PE */
    movl %eax, %cr0

    /* Paging on with LME set: we are in compatibility mode until CS is
     * reloaded with a long-mode descriptor. */
    ljmp $0x08, $start64

    .code64
start64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    /* CPU 0's idle task stack: its task struct is at the base, so
     * `current` works from the first C instruction (kernel/sched.h). */
    movq $(idle_stacks + KSTACK_SIZE), %rsp
    cld
    call kmain
1:  cli
    hlt
    jmp 1b

/* ------------------------------------------------------------------------ */
    .data
    .p2align 2
    .globl mb_magic, mb_info
mb_magic:
    .long 0
mb_info:
    .long 0

    /* The template every CPU copies into its struct cpu (arch/gdt.c);
     * only the boot code below runs on it. */
    .p2align 4
    .globl gdt, gdt_end
gdt:
    .quad 0                    /* 0x00 null */
    .quad 0x00AF9A000000FFFF   /* 0x08 kernel code, 64-bit */
    .quad 0x00CF92000000FFFF   /* 0x10 kernel data */
    .quad 0x00CFF2000000FFFF   /* 0x18 user data, DPL 3 */
    .quad 0x00AFFA000000FFFF   /* 0x20 user code, 64-bit, DPL 3 */
    .quad 0, 0                 /* 0x28 TSS; base is patched in by gdt_init */
gdt_end:

    /* 32-bit lgdt operand; the base stays valid in long mode because the
     * GDT lives below 4 GiB, so it is never reloaded. */
    .p2align 1
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

/* ------------------------------------------------------------------------ */
/* Identity map of the first 1 GiB with 2 MiB pages, except:
 *  - 0-2 MiB goes through pt0 (4 KiB pages) so page 0 can stay unmapped
 *    and NULL dereferences fault;
 *  - 2-4 MiB (the user region) is the only page with U=1.
 * U must also be set in the upper levels, since access rights are the AND
 * over all levels. Everything else is supervisor-only. */
    .section .data.pagetables, "aw"
    .p2align 12
    .globl pml4, pdpt, pd
pml4:
    .quad pdpt + (PTE_P | PTE_W | PTE_U)
    .fill 255, 8, 0
    .quad pdpt_direct + (PTE_P | PTE_W) /* 0xFFFF800000000000: arch/mmu.h */
    .fill 255, 8, 0
pdpt:
    .quad pd + (PTE_P | PTE_W | PTE_U)
    .quad 0, 0
    .quad pd_apic + (PTE_P | PTE_W) /* 3-4 GiB: supervisor only */
    .fill 508, 8, 0
pd:
    .quad pt0 + (PTE_P | PTE_W)
    .quad 0x200000 + (PTE_P | PTE_W | PTE_U | PTE_PS)
    .set addr, 0x400000
    .rept 510
    .quad addr + (PTE_P | PTE_W | PTE_PS)
    .set addr, addr + 0x200000
    .endr
/* 0xFEC00000-0xFEFFFFFF: IOAPIC (0xFEC00000) and LAPIC (0xFEE00000) MMIO,
 * two 2 MiB pages, uncached (PCD|PWT), supervisor only. */
pd_apic:
    .fill 502, 8, 0
    .quad 0xFEC00000 + (PTE_P | PTE_W | PTE_PWT | PTE_PCD | PTE_PS)
    .quad 0xFEE00000 + (PTE_P | PTE_W | PTE_PWT | PTE_PCD | PTE_PS)
    .fill 8, 8, 0
/* The direct map (arch/mmu.h): the same first 1 GiB again, supervisor
 * only, at the top half. Every process's page tables share it, so the
 * kernel reaches any physical page whichever address space is loaded. */
pdpt_direct:
    .quad pd_direct + (PTE_P | PTE_W)
    .fill 511, 8, 0
pd_direct:
    .set addr, 0
    .rept 512
    .quad addr + (PTE_P | PTE_W | PTE_PS)
    .set addr, addr + 0x200000
    .endr
pt0:
    .quad 0
    .set addr, 0x1000
    .rept 511
    .quad addr + (PTE_P | PTE_W)
    .set addr, addr + 0x1000
    .endr

    .section .note.GNU-stack, "", @progbits
