/* kernel/mm.h - physical pages and the address spaces of processes (xv6's
 * kalloc.c and vm.c in shape).
 *
 * Each process has its own four-level page tables. They share what every
 * address space needs, read from the boot tables: the kernel below 4 MiB
 * (supervisor only), the APIC page and the direct map. The process's own
 * pages live in the user window (arch/mmu.h), 4 KiB each. Stack, heap and
 * anonymous mappings are lazy: their entries are written when mapped, and
 * a page is allocated and zeroed at its first touch (PTE_LAZY). fork shares
 * pages copy-on-write (PTE_COW), counted per page. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/mmu.h"

/* Physical memory, from the boot information: pages in [start, end) are
 * the allocator's. */
void mm_init(uint64_t start, uint64_t end);
/* A zeroed page (direct-map address), or NULL when memory is exhausted. */
void *page_alloc(void);
void page_free(void *page);
uint64_t mm_free_pages(void);
uint64_t mm_total_pages(void);
/* Entries fork made copy-on-write, and the writes that broke one. */
void mm_cow_counts(uint64_t *shared, uint64_t *copied);
/* Contiguous, aligned to `bytes` (a power of two): for kernel stacks. Taken
 * once at boot, never freed. */
void *mm_reserve(uint64_t bytes);

/* The boot page tables: the idle tasks' and the built-in tasks'. */
uint64_t mm_kernel_cr3(void);

struct mm {
    uint64_t pml4;        /* physical; 0: none */
    uint64_t brk_base;    /* the heap: [brk_base, brk) */
    uint64_t brk;
    uint64_t mmap_base;   /* anonymous mappings grow down from here */
    uint64_t resident;    /* user pages mapped (shared ones too) */
};

/* The stack: lazy, and without entries until a page is touched (mm.c,
 * fault_in); the heap and the mappings stay below it. */
#define USER_STACK_TOP USER_WINDOW_END
#define USER_STACK_SIZE (1UL << 20)
#define USER_MMAP_TOP (USER_STACK_TOP - USER_STACK_SIZE - PAGE_SIZE)

/* Empty user window; false when memory is exhausted. */
bool mm_create(struct mm *m);
void mm_destroy(struct mm *m);
/* A copy-on-write copy of src (fork): src's writable pages become
 * read-only in both until written; false when memory is exhausted,
 * leaving dst empty. */
bool mm_copy(struct mm *dst, struct mm *src);

/* Maps [va, va+len) with fresh zeroed pages now (eager), or lazily.
 * `write`: writable by the process. Both page aligned and inside the
 * window; false when memory is exhausted. */
bool mm_map(struct mm *m, uint64_t va, uint64_t len, bool write, bool lazy);
/* Unmaps and frees whatever is mapped in [va, va+len). */
void mm_unmap(struct mm *m, uint64_t va, uint64_t len);
/* Changes the access of whatever is mapped in [va, va+len): none, read,
 * read-write. */
void mm_protect(struct mm *m, uint64_t va, uint64_t len, bool user, bool write);
/* Copies into m's pages whether or not m is loaded (exec builds the new
 * image before it switches). [va, va+n) must be mapped. */
void mm_write(struct mm *m, uint64_t va, const void *src, size_t n);

/* A user fault at va: true when it was a lazy page, now allocated. */
bool mm_fault(struct mm *m, uint64_t va, bool write);
/* Whether the process may access [va, va+len) (lazy pages are faulted in
 * here, so a system call never faults in the kernel). */
bool mm_user_ok(struct mm *m, uint64_t va, uint64_t len, bool write);

/* The current process's memory: 0, or -EFAULT. */
long copy_from_user(void *dst, uint64_t src, size_t n);
long copy_to_user(uint64_t dst, const void *src, size_t n);
/* A NUL-terminated string of at most max-1 bytes: its length, -EFAULT, or
 * -ENAMETOOLONG. */
long string_from_user(char *dst, uint64_t src, size_t max);
