/* main.c - kmain: from the first 64-bit instruction to the first task. */
#include "kernel.h"
#include "multiboot.h"

struct config cfg;

extern uint32_t mb_magic, mb_info; /* saved by boot.S */
extern char _image_end[];          /* linker.ld: end of everything loaded */

#define KERNEL_LOAD 0x100000UL
#define MAPPED_LIMIT (1UL << 30) /* boot.S identity-maps the first 1 GiB */

static char cmdline[512];

struct bootinfo {
    uint64_t mem_kib;   /* available RAM in total */
    int64_t upper_kib;  /* usable KiB from 1 MiB up; -1 if unknown */
    const char *error;  /* reason word if the boot info is unusable */
    uint64_t error_value;
};

/* Only what boot.S mapped (and not page 0, left unmapped to catch NULL). */
static bool phys_ok(uint64_t addr, uint64_t len)
{
    return addr >= 0x1000 && addr + len >= addr && addr + len <= MAPPED_LIMIT;
}

static void copy_cmdline(uint32_t addr)
{
    const char *src = (const char *)(uint64_t)addr;
    size_t i = 0;
    if (!phys_ok(addr, 1))
        return;
    for (; i < sizeof(cmdline) - 1 && phys_ok(addr + i, 1) && src[i]; i++) {
        char c = src[i];
        /* Keeps the boot line parseable: cmdline="..." must not contain
         * a double quote or a line break. */
        if (c == '"')
            c = '\'';
        else if (c < ' ' || c > '~')
            c = ' ';
        cmdline[i] = c;
    }
    cmdline[i] = '\0';
}

static struct bootinfo read_bootinfo(void)
{
    struct bootinfo bi = { 0, -1, NULL, 0 };

    if (mb_magic != MULTIBOOT_BOOT_MAGIC) {
        bi.error = "bad_magic";
        bi.error_value = mb_magic;
        return bi;
    }
    if (!phys_ok(mb_info, sizeof(struct multiboot_info))) {
        bi.error = "unmapped";
        bi.error_value = mb_info;
        return bi;
    }
    const struct multiboot_info *mbi = (const void *)(uint64_t)mb_info;

    if (mbi->flags & MBI_FLAG_CMDLINE)
        copy_cmdline(mbi->cmdline);
    if (mbi->flags & MBI_FLAG_MEM) {
        bi.mem_kib = (uint64_t)mbi->mem_lower + mbi->mem_upper;
        bi.upper_kib = mbi->mem_upper;
    }
    if ((mbi->flags & MBI_FLAG_MMAP) && phys_ok(mbi->mmap_addr, mbi->mmap_length)) {
        uint64_t total = 0;
        uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
        while (p + sizeof(struct multiboot_mmap_entry) <= end) {
            const struct multiboot_mmap_entry *e = (const void *)p;
            if (e->type == 1) {
                total += e->len;
                if (e->addr <= KERNEL_LOAD && e->addr + e->len > KERNEL_LOAD && bi.upper_kib < 0)
                    bi.upper_kib = (int64_t)((e->addr + e->len - KERNEL_LOAD) / 1024);
            }
            p += (uint64_t)e->size + 4;
        }
        bi.mem_kib = total / 1024;
    }
    return bi;
}

/* crash=ud|pf|gp|triple: fault on purpose in ring 0 right after boot. */
static void crash_now(enum crash_mode m)
{
    uint64_t v;
    switch (m) {
    case CRASH_UD:
        __asm__ volatile("ud2");
        break;
    case CRASH_PF: /* above the 1 GiB identity map: not present */
        __asm__ volatile("movq 0x40001000, %0" : "=r"(v));
        (void)v;
        break;
    case CRASH_GP: /* selector 0x1230 is far past the GDT limit */
        __asm__ volatile("movw %w0, %%ds" : : "r"(0x1230));
        break;
    case CRASH_TRIPLE:
        idt_load_empty();
        __asm__ volatile("ud2");
        break;
    default: /* none; user is done by task 0 in ring 3 */
        break;
    }
}

__attribute__((noreturn)) void kernel_exit(int code)
{
    __asm__ volatile("cli");
    console_sync();
    kprintf("exit code=%d\n", code);
    uart_wait_idle();
    outb(0xF4, (uint8_t)code);
    /* No debug-exit device: stop here with interrupts off. */
    for (;;)
        __asm__ volatile("cli; hlt");
}

void kmain(void)
{
    gdt_init();
    idt_init();
    uart_init();
    config_defaults(&cfg);

    struct bootinfo bi = read_bootinfo();
    kprintf("boot kernel=vmm-guest version=1 cmdline=\"%s\" mem_kib=%lu\n", cmdline, bi.mem_kib);
    if (bi.error) {
        kprintf("error boot=multiboot value=0x%lx reason=%s\n", bi.error_value, bi.error);
        kernel_exit(EXIT_BAD_BOOT);
    }
    if (!config_parse(&cfg, cmdline))
        kernel_exit(EXIT_BAD_OPTION);

    uint64_t need_kib = ((uint64_t)_image_end - KERNEL_LOAD + 1023) / 1024;
    if (bi.upper_kib >= 0 && (uint64_t)bi.upper_kib < need_kib) {
        kprintf("error boot=memory value=%ld reason=too_small\n", bi.upper_kib);
        kernel_exit(EXIT_BAD_BOOT);
    }
    config_print(&cfg);

    console_set_mode(cfg.uart);
    crash_now(cfg.crash);

    switch (cfg.mode) {
    case MODE_SELFTEST:
        selftest_run();
    case MODE_BENCH_PIT:
        bench_pit_run();
    case MODE_BENCH_SERIAL:
        bench_serial_run();
    case MODE_ECHO:
        echo_run();
    case MODE_BENCH_IRQ:
        bench_irq_run();
    default:
        break;
    }

    sched_init();
    pic_init(PIC_UNMASK(IRQ_TIMER) | PIC_UNMASK(IRQ_COM1) | irq_setup());
    pit_init(cfg.hz); /* ticks count from here; IF stays 0 until the first iret */
    sched_start();
}
