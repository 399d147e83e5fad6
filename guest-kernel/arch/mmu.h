/* arch/mmu.h - page-table entries, the direct map and the user window.
 *
 * Two views of physical memory exist in every address space (arch/boot.S):
 * the kernel image, its BSS and the built-in tasks' user page are identity
 * mapped below 4 MiB, and all of the first 1 GiB is mapped again at
 * DIRECT_BASE, supervisor only, as Linux's direct map. Pages the kernel
 * allocates (page tables, process kernel stacks, user pages) are reached
 * only through the direct map, since the identity view above 4 MiB exists
 * in the boot page tables alone: in a process's it is the user window,
 * where static programs expect their text (0x400000). */
#pragma once

#include <stdint.h>

#define PAGE_SIZE 4096UL
#define PAGE_MASK (~(PAGE_SIZE - 1))

#define PTE_P (1UL << 0)
#define PTE_W (1UL << 1)
#define PTE_U (1UL << 2)
#define PTE_PWT (1UL << 3)
#define PTE_PCD (1UL << 4)
#define PTE_PS (1UL << 7)
/* Bits 9-11 are the software's. LAZY: the page belongs to the process but
 * is not allocated yet (stack, heap, anonymous mmap): the first access
 * faults, and the fault handler gives it a zeroed page. P is clear, so the
 * CPU ignores every other bit, which keep the permissions it will get. */
#define PTE_LAZY (1UL << 9)
/* COW: present, and read-only to the CPU, but the process may write it: the
 * write faults, and the fault handler gives it a copy (kernel/mm.c). */
#define PTE_COW (1UL << 10)
#define PTE_ADDR 0x000FFFFFFFFFF000UL

#define DIRECT_BASE 0xFFFF800000000000UL
#define DIRECT_SIZE (1UL << 30)

/* Where a process's own mappings may go: 4 MiB up to 1 GiB, the part of
 * the first page directory the kernel does not use (arch/boot.S). */
#define USER_WINDOW_BASE 0x400000UL
#define USER_WINDOW_END 0x40000000UL

static inline void *phys_to_virt(uint64_t pa)
{
    return (void *)(pa + DIRECT_BASE);
}

/* For the direct map and the identity-mapped kernel image alike. */
static inline uint64_t virt_to_phys(const void *va)
{
    uint64_t v = (uint64_t)va;
    return v >= DIRECT_BASE ? v - DIRECT_BASE : v;
}

static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline void write_cr3(uint64_t pa)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(pa) : "memory");
}

static inline void invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* Page-sized copies and clears: eight bytes per iteration, since each
 * iteration of a string instruction costs about a microsecond in the
 * instruction emulator that runs ring 0 here. */
static inline void page_zero(void *page)
{
    uint64_t n = PAGE_SIZE / 8;
    __asm__ volatile("rep stosq" : "+D"(page), "+c"(n) : "a"(0UL) : "memory");
}

static inline void page_copy(void *dst, const void *src)
{
    uint64_t n = PAGE_SIZE / 8;
    __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}
