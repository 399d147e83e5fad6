/* mm.c - the page allocator and process address spaces (see mm.h). */
#include "kernel/mm.h"

#include "kernel/errno.h"
#include "kernel/sched.h"
#include "kernel/spinlock.h"
#include "lib/string.h"

/* ---- physical pages ------------------------------------------------------ */

/* Freed pages form a list threaded through themselves; pages never used
 * yet are handed out from `fresh` up, so boot costs nothing for memory
 * it does not touch (every store at boot runs in the emulator here). */
struct free_page {
    struct free_page *next;
};

static struct spinlock page_lock = SPINLOCK_INIT("pages");
static struct free_page *free_list;
static uint64_t fresh, limit; /* physical */
static uint64_t nfree, ntotal;

/* How many page-table entries map each page (copy-on-write shares pages
 * between processes); a page is free again when the last one goes. Set to
 * 1 when a page is handed out, so the array needs no clearing at boot. */
static uint16_t *refs;
static uint64_t cow_shared, cow_copied;
static uint64_t refs_base; /* physical address of the page refs[0] counts */

void mm_init(uint64_t start, uint64_t end)
{
    if (end > DIRECT_SIZE)
        end = DIRECT_SIZE;
    fresh = (start + PAGE_SIZE - 1) & PAGE_MASK;
    limit = end & PAGE_MASK;
    if (limit <= fresh)
        return;
    refs_base = fresh;
    refs = phys_to_virt(fresh);
    uint64_t ref_bytes = (limit - fresh) / PAGE_SIZE * sizeof(*refs);
    fresh += (ref_bytes + PAGE_SIZE - 1) & PAGE_MASK;
    ntotal = nfree = limit > fresh ? (limit - fresh) / PAGE_SIZE : 0;
}

static uint16_t *ref_of(const void *page)
{
    return &refs[(virt_to_phys(page) - refs_base) / PAGE_SIZE];
}

static void page_get(void *page)
{
    __atomic_add_fetch(ref_of(page), 1, __ATOMIC_RELAXED);
}

static unsigned page_refs(const void *page)
{
    return __atomic_load_n(ref_of(page), __ATOMIC_RELAXED);
}

static void *take_page(void)
{
    spin_lock(&page_lock);
    void *page = NULL;
    if (free_list) {
        page = free_list;
        free_list = free_list->next;
    } else if (fresh < limit) {
        page = phys_to_virt(fresh);
        fresh += PAGE_SIZE;
    }
    if (page)
        nfree--;
    spin_unlock(&page_lock);
    if (page)
        *ref_of(page) = 1;
    return page;
}

void *page_alloc(void)
{
    void *page = take_page();
    if (page)
        page_zero(page);
    return page;
}

void page_free(void *page)
{
    if (__atomic_sub_fetch(ref_of(page), 1, __ATOMIC_ACQ_REL) != 0)
        return; /* still mapped by another process */
    spin_lock(&page_lock);
    struct free_page *p = page;
    p->next = free_list;
    free_list = p;
    nfree++;
    spin_unlock(&page_lock);
}

uint64_t mm_free_pages(void)
{
    return nfree;
}

void mm_cow_counts(uint64_t *shared, uint64_t *copied)
{
    *shared = cow_shared;
    *copied = cow_copied;
}

uint64_t mm_total_pages(void)
{
    return ntotal;
}

void *mm_reserve(uint64_t bytes)
{
    spin_lock(&page_lock);
    uint64_t start = (fresh + bytes - 1) & ~(bytes - 1);
    void *p = NULL;
    if (start + bytes <= limit && start + bytes > start) {
        /* The pages skipped for alignment go to the free list. */
        for (uint64_t a = fresh; a < start; a += PAGE_SIZE) {
            struct free_page *f = phys_to_virt(a);
            f->next = free_list;
            free_list = f;
        }
        nfree -= bytes / PAGE_SIZE;
        ntotal -= bytes / PAGE_SIZE;
        fresh = start + bytes;
        p = phys_to_virt(start);
    }
    spin_unlock(&page_lock);
    return p;
}

/* ---- page tables --------------------------------------------------------- */

extern uint64_t pml4[], pdpt[], pd[]; /* arch/boot.S */

uint64_t mm_kernel_cr3(void)
{
    return virt_to_phys(pml4);
}

static uint64_t *table(uint64_t entry)
{
    return phys_to_virt(entry & PTE_ADDR);
}

/* The index of the first non-zero entry in t[from..512), or 512. One
 * repe scasq rather than a loop: each instruction of a loop costs ~300 ns
 * in the emulator that runs ring 0 here, and an address space is mostly
 * empty entries, which fork and exit would otherwise walk one by one. */
static unsigned next_used(const uint64_t *t, unsigned from)
{
    if (from >= 512)
        return 512;
    const uint64_t *p = t + from;
    uint64_t n = 512 - from;
    __asm__ volatile("repe scasq" : "+D"(p), "+c"(n) : "a"(0UL) : "cc", "memory");
    unsigned last = (unsigned)(p - t) - 1; /* the last entry compared */
    return t[last] ? last : 512;
}

/* The process's page directory for the first GiB: entries 2-511 are its
 * page tables (0 and 1 are the kernel's, below 4 MiB). */
static uint64_t *user_pd(const struct mm *m)
{
    uint64_t *top = phys_to_virt(m->pml4);
    return table(table(top[0])[0]);
}

static bool in_window(uint64_t va, uint64_t len)
{
    return va >= USER_WINDOW_BASE && va <= USER_WINDOW_END && len <= USER_WINDOW_END - va;
}

static uint64_t *pte_of(const struct mm *m, uint64_t va, bool create)
{
    uint64_t *pde = &user_pd(m)[(va >> 21) & 511];
    if (!(*pde & PTE_P)) {
        if (!create)
            return NULL;
        void *pt = page_alloc();
        if (!pt)
            return NULL;
        *pde = virt_to_phys(pt) | PTE_P | PTE_W | PTE_U;
    }
    return &table(*pde)[(va >> 12) & 511];
}

static void flush(const struct mm *m, uint64_t va)
{
    if (read_cr3() == m->pml4)
        invlpg(va);
}

bool mm_create(struct mm *m)
{
    memset(m, 0, sizeof(*m));
    uint64_t *top = page_alloc(), *dirp = page_alloc(), *dir = page_alloc();
    if (!top || !dirp || !dir) {
        if (top)
            page_free(top);
        if (dirp)
            page_free(dirp);
        if (dir)
            page_free(dir);
        return false;
    }
    top[0] = virt_to_phys(dirp) | PTE_P | PTE_W | PTE_U;
    top[256] = pml4[256]; /* the direct map */
    dirp[0] = virt_to_phys(dir) | PTE_P | PTE_W | PTE_U;
    dirp[3] = pdpt[3];    /* IOAPIC and LAPIC */
    dir[0] = pd[0];       /* the kernel image, below 2 MiB */
    dir[1] = pd[1] & ~PTE_U; /* the built-in tasks' page: not a process's */
    m->pml4 = virt_to_phys(top);
    m->mmap_base = USER_MMAP_TOP;
    return true;
}

void mm_destroy(struct mm *m)
{
    if (!m->pml4)
        return;
    uint64_t *dir = user_pd(m);
    for (unsigned i = next_used(dir, USER_WINDOW_BASE >> 21); i < 512; i = next_used(dir, i + 1)) {
        uint64_t *pt = table(dir[i]);
        for (unsigned j = next_used(pt, 0); j < 512; j = next_used(pt, j + 1))
            if (pt[j] & PTE_P)
                page_free(table(pt[j]));
        page_free(pt);
    }
    uint64_t *top = phys_to_virt(m->pml4);
    page_free(table(top[0]));
    page_free(dir);
    page_free(top);
    m->pml4 = 0;
    m->resident = 0;
}

/* Copy-on-write: the child maps the parent's pages, and whatever either
 * could write becomes read-only in both, marked PTE_COW; the first write
 * (mm.c, break_cow) gives the writer a copy of its own, or the page itself
 * when nobody else maps it any more. Read-only pages (text) are just
 * shared. */
bool mm_copy(struct mm *dst, struct mm *src)
{
    if (!mm_create(dst))
        return false;
    uint64_t *sdir = user_pd(src);
    uint64_t *ddir = user_pd(dst);
    for (unsigned i = next_used(sdir, USER_WINDOW_BASE >> 21); i < 512; i = next_used(sdir, i + 1)) {
        uint64_t *dpt = page_alloc();
        if (!dpt)
            goto fail;
        ddir[i] = virt_to_phys(dpt) | (sdir[i] & ~PTE_ADDR);
        uint64_t *spt = table(sdir[i]);
        for (unsigned j = next_used(spt, 0); j < 512; j = next_used(spt, j + 1)) {
            if ((spt[j] & PTE_P) && (spt[j] & (PTE_W | PTE_COW))) {
                spt[j] = (spt[j] & ~PTE_W) | PTE_COW;
                __atomic_add_fetch(&cow_shared, 1, __ATOMIC_RELAXED);
            }
            if (spt[j] & PTE_P) {
                page_get(table(spt[j]));
                dst->resident++;
            }
            dpt[j] = spt[j]; /* lazy or empty: nothing to share */
        }
    }
    dst->brk_base = src->brk_base;
    dst->brk = src->brk;
    dst->mmap_base = src->mmap_base;
    /* The parent's writable entries are cached in this CPU's TLB. */
    if (read_cr3() == src->pml4)
        write_cr3(src->pml4);
    return true;
fail:
    mm_destroy(dst);
    if (read_cr3() == src->pml4)
        write_cr3(src->pml4);
    return false;
}

bool mm_map(struct mm *m, uint64_t va, uint64_t len, bool write, bool lazy)
{
    uint64_t access = PTE_U | (write ? PTE_W : 0);
    for (uint64_t a = va; a < va + len; a += PAGE_SIZE) {
        uint64_t *pte = pte_of(m, a, true);
        if (!pte)
            return false;
        if (*pte & (PTE_P | PTE_LAZY)) { /* shared with the previous segment */
            *pte |= access;
            continue;
        }
        if (lazy) {
            *pte = PTE_LAZY | access;
            continue;
        }
        void *page = page_alloc();
        if (!page)
            return false;
        *pte = virt_to_phys(page) | PTE_P | access;
        m->resident++;
    }
    return true;
}

void mm_unmap(struct mm *m, uint64_t va, uint64_t len)
{
    for (uint64_t a = va; a < va + len; a += PAGE_SIZE) {
        uint64_t *pte = pte_of(m, a, false);
        if (!pte || !*pte)
            continue;
        if (*pte & PTE_P) {
            page_free(table(*pte));
            m->resident--;
        }
        *pte = 0;
        flush(m, a);
    }
}

void mm_protect(struct mm *m, uint64_t va, uint64_t len, bool user, bool write)
{
    for (uint64_t a = va; a < va + len; a += PAGE_SIZE) {
        uint64_t *pte = pte_of(m, a, false);
        if (!pte || !*pte)
            continue;
        *pte &= ~(PTE_U | PTE_W | PTE_COW);
        *pte |= user ? PTE_U : 0;
        /* A page another process maps too becomes writable through a
         * copy, at the first write. */
        if (write)
            *pte |= (*pte & PTE_P) && page_refs(table(*pte)) > 1 ? PTE_COW : PTE_W;
        flush(m, a);
    }
}

/* A write to a copy-on-write page: 1 when the writer has a page of its own
 * now, -1 when there is no memory for the copy. */
static int break_cow(struct mm *m, uint64_t *pte, uint64_t va)
{
    void *page = table(*pte);
    uint64_t flags = (*pte & ~PTE_ADDR & ~PTE_COW) | PTE_W;
    if (page_refs(page) == 1) { /* the others have copied or gone */
        *pte = virt_to_phys(page) | flags;
    } else {
        void *copy = take_page();
        if (!copy)
            return -1;
        page_copy(copy, page);
        *pte = virt_to_phys(copy) | flags;
        page_free(page);
    }
    __atomic_add_fetch(&cow_copied, 1, __ATOMIC_RELAXED);
    flush(m, va);
    return 1;
}

static bool in_stack(uint64_t va)
{
    return va >= USER_STACK_TOP - USER_STACK_SIZE && va < USER_STACK_TOP;
}

/* 1: the lazy page at va is there now; 0: va is no lazy page (or not one
 * this access may touch); -1: no memory for it. The stack's region is lazy
 * without entries: a page there is the process's from its first touch, so
 * exec writes no entries for it and fork and exit walk none. */
static int fault_in(struct mm *m, uint64_t va, bool write)
{
    if (!in_window(va, 1))
        return 0;
    bool stack = in_stack(va);
    uint64_t *pte = pte_of(m, va, stack);
    if (!pte)
        return stack ? -1 : 0;
    if ((*pte & PTE_P) && (*pte & PTE_COW) && (*pte & PTE_U) && write)
        return break_cow(m, pte, va);
    if (stack && !*pte)
        *pte = PTE_LAZY | PTE_U | PTE_W;
    if (!(*pte & PTE_LAZY) || !(*pte & PTE_U) || (write && !(*pte & PTE_W)))
        return 0;
    void *page = page_alloc();
    if (!page)
        return -1;
    *pte = virt_to_phys(page) | PTE_P | (*pte & (PTE_U | PTE_W));
    m->resident++;
    return 1;
}

bool mm_fault(struct mm *m, uint64_t va, bool write)
{
    return fault_in(m, va, write) > 0;
}

bool mm_user_ok(struct mm *m, uint64_t va, uint64_t len, bool write)
{
    if (!m->pml4)
        return false;
    if (len == 0)
        return true;
    if (!in_window(va, len))
        return false;
    for (uint64_t a = va & PAGE_MASK; a < va + len; a += PAGE_SIZE) {
        uint64_t *pte = pte_of(m, a, false);
        if (pte && (*pte & PTE_P) && !(write && (*pte & PTE_COW))) {
            if (!(*pte & PTE_U) || (write && !(*pte & PTE_W)))
                return false;
        } else if (fault_in(m, a, write) <= 0) {
            return false;
        }
    }
    return true;
}

void mm_write(struct mm *m, uint64_t va, const void *src, size_t n)
{
    const uint8_t *s = src;
    while (n) {
        uint64_t *pte = pte_of(m, va, false);
        if (!pte || !(*pte & PTE_P))
            return; /* the caller mapped it: cannot happen */
        size_t off = va & (PAGE_SIZE - 1), chunk = PAGE_SIZE - off;
        if (chunk > n)
            chunk = n;
        memcpy((uint8_t *)table(*pte) + off, s, chunk);
        va += chunk;
        s += chunk;
        n -= chunk;
    }
}

/* ---- the current process's memory ---------------------------------------- */

long copy_from_user(void *dst, uint64_t src, size_t n)
{
    if (!mm_user_ok(&current()->mm, src, n, false))
        return -EFAULT;
    memcpy(dst, (const void *)src, n);
    return 0;
}

long copy_to_user(uint64_t dst, const void *src, size_t n)
{
    if (!mm_user_ok(&current()->mm, dst, n, true))
        return -EFAULT;
    memcpy((void *)dst, src, n);
    return 0;
}

long string_from_user(char *dst, uint64_t src, size_t max)
{
    struct mm *m = &current()->mm;
    size_t len = 0;
    while (len < max) {
        uint64_t a = src + len;
        size_t chunk = PAGE_SIZE - (a & (PAGE_SIZE - 1));
        if (chunk > max - len)
            chunk = max - len;
        if (!mm_user_ok(m, a, chunk, false))
            return -EFAULT;
        const char *s = (const char *)a;
        for (size_t i = 0; i < chunk; i++, len++) {
            dst[len] = s[i];
            if (!s[i])
                return (long)len;
        }
    }
    dst[max - 1] = '\0';
    return -ENAMETOOLONG;
}
