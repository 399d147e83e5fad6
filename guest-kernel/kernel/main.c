/* main.c - kmain: from the first 64-bit instruction on the boot CPU to
 * the first task on every CPU. */
#include "arch/acpi.h"
#include "arch/cpu.h"
#include "arch/idt.h"
#include "arch/ioapic.h"
#include "arch/lapic.h"
#include "arch/mptable.h"
#include "arch/multiboot.h"
#include "arch/pic.h"
#include "arch/smp.h"
#include "drivers/uart.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/ipi.h"
#include "kernel/initrd.h"
#include "kernel/irq.h"
#include "kernel/linux.h"
#include "kernel/mm.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/tick.h"
#include "kernel/trace.h"
#include "kernel/trap.h"
#include "lib/string.h"
#include "modes/modes.h"

struct config cfg;

extern uint32_t mb_magic, mb_info; /* saved by boot.S */
extern char _image_end[];          /* linker.ld: end of everything loaded */

#define KERNEL_LOAD 0x100000UL
#define MAPPED_LIMIT (1UL << 30) /* boot.S identity-maps the first 1 GiB */

static char cmdline[512];

struct bootinfo {
    uint64_t mem_kib;   /* available RAM in total */
    int64_t upper_kib;  /* usable KiB from 1 MiB up; -1 if unknown */
    uint64_t initrd_start, initrd_end; /* the first module; 0, 0: none */
    uint64_t boot_data_end; /* past the image, the modules and the boot information */
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
    struct bootinfo bi = { 0, -1, 0, 0, (uint64_t)_image_end, NULL, 0 };

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

    /* The loader puts its information past the image and the modules; the
     * page allocator starts past all of it. */
#define SEEN(end) bi.boot_data_end = (end) > bi.boot_data_end ? (end) : bi.boot_data_end
    SEEN((uint64_t)mb_info + sizeof(*mbi));
    if (mbi->flags & MBI_FLAG_CMDLINE) {
        copy_cmdline(mbi->cmdline);
        SEEN((uint64_t)mbi->cmdline + sizeof(cmdline));
    }
    if ((mbi->flags & MBI_FLAG_MODS) && mbi->mods_count &&
        phys_ok(mbi->mods_addr, (uint64_t)mbi->mods_count * sizeof(struct multiboot_module))) {
        const struct multiboot_module *mods = (const void *)(uint64_t)mbi->mods_addr;
        SEEN((uint64_t)mbi->mods_addr + mbi->mods_count * sizeof(*mods));
        bi.initrd_start = mods[0].mod_start;
        bi.initrd_end = mods[0].mod_end;
        for (uint32_t i = 0; i < mbi->mods_count; i++) {
            SEEN((uint64_t)mods[i].mod_end);
            SEEN((uint64_t)mods[i].string + 256);
        }
    }
    if (mbi->flags & MBI_FLAG_MMAP)
        SEEN((uint64_t)mbi->mmap_addr + mbi->mmap_length);
#undef SEEN
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

/* crash=syscall: task 0 executes SYSCALL in ring 3. The CPU must enter
 * syscall_probe_entry in ring 0 (CS from STAR, interrupts off by FMASK), which
 * says so and ends the run with EXIT_SYSCALL_IN_RING0. A host that jumps to
 * LSTAR but stays in ring 3 faults there instead: a user-mode fetch of a
 * kernel page, reported with mode=user and rip at syscall_probe_entry. */
#define MSR_EFER 0xC0000080u
#define MSR_STAR 0xC0000081u
#define MSR_LSTAR 0xC0000082u
#define MSR_FMASK 0xC0000084u
#define EFER_SCE (1u << 0)
#define RFLAGS_IF (1u << 9)

void syscall_probe_entry(void);
__attribute__((noreturn, used)) void syscall_probe_reached(uint64_t cs)
{
    kprintf("syscall: entered ring 0 from ring 3, cs=0x%lx\n", cs);
    kernel_exit(EXIT_SYSCALL_IN_RING0);
}

/* On its own stack: SYSCALL leaves RSP at the task's user stack. */
static uint8_t syscall_probe_stack[4096] __attribute__((aligned(16), used));
__asm__(".text\n"
        ".globl syscall_probe_entry\n"
        "syscall_probe_entry:\n"
        "    lea syscall_probe_stack+4096(%rip), %rsp\n"
        "    mov %cs, %rdi\n"
        "    call syscall_probe_reached\n");

static void syscall_probe_arm(void)
{
    wrmsr(MSR_STAR, (uint64_t)KERNEL_CS << 32);
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_probe_entry);
    wrmsr(MSR_FMASK, RFLAGS_IF);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
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
    case CRASH_SYSCALL: /* armed here, fired by task 0 in ring 3 */
        syscall_probe_arm();
        break;
    default: /* none; user is done by task 0 in ring 3 */
        break;
    }
}

/* `quiet` among the kernel's words (not init's arguments), known before
 * the first line is printed, so the boot line obeys it too. */
static bool quiet_requested(const char *line)
{
    const char *p = line;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *word = p;
        while (*p && *p != ' ')
            p++;
        size_t n = (size_t)(p - word);
        if (n >= 5 && memcmp(word, "init=", 5) == 0)
            return false;
        if (n == 5 && memcmp(word, "quiet", 5) == 0)
            return true;
    }
    return false;
}

/* init=: the page allocator over the memory the boot left free, the
 * initrd, and pid 1 queued on this CPU. */
static void start_programs(const struct bootinfo *bi)
{
    if (!bi->initrd_end) {
        kprintf("error init=%s reason=no_initrd\n", cfg.init);
        kernel_exit(EXIT_BAD_BOOT);
    }
    uint64_t mem_end = bi->upper_kib >= 0 ? KERNEL_LOAD + (uint64_t)bi->upper_kib * 1024 : 0;
    mm_init(bi->boot_data_end + PAGE_SIZE, mem_end);
    linux_start_clock();
    if (!initrd_init(bi->initrd_start, bi->initrd_end) || !proc_init() || !proc_start_init(cfg.init))
        kernel_exit(EXIT_BAD_BOOT);
}

__attribute__((noreturn)) void kernel_exit(int code)
{
    __asm__ volatile("cli");
    /* From any CPU; the first one out writes the line, the others stop. */
    static volatile uint32_t exiting;
    if (__atomic_exchange_n(&exiting, 1, __ATOMIC_SEQ_CST))
        for (;;)
            __asm__ volatile("cli; hlt");
    console_sync();
    /* S5 carries no status, so only a successful run powers off. */
    struct acpi_s5 s5;
    bool poweroff = code == EXIT_OK && cfg.exit_via == EXIT_VIA_ACPI;
    if (poweroff) {
        const char *why = acpi_find_s5(&s5);
        if (why) {
            kprintf("error poweroff=acpi reason=%s\n", why);
            code = EXIT_BAD_BOOT;
            poweroff = false;
        } else {
            kprintf("poweroff via=acpi rsdp=0x%lx fadt=0x%lx pm1a_cnt=0x%x slp_typ=%u\n", s5.rsdp, s5.fadt,
                    s5.pm1a_cnt, s5.slp_typ);
        }
    }
    kprintf("exit code=%d\n", code);
    uart_wait_idle();
    if (poweroff) {
        acpi_enter_s5(&s5);
        kprintf("error poweroff=acpi reason=still_running\n");
        uart_wait_idle();
        code = EXIT_BAD_BOOT;
    }
    outb(DEBUG_EXIT_PORT, (uint8_t)code);
    /* No debug-exit device: stop here with interrupts off. */
    for (;;)
        __asm__ volatile("cli; hlt");
}

static void com1_interrupt_pic(unsigned vector)
{
    (void)vector;
    console_irq();
    pic_eoi(IRQ_COM1);
}

static void com1_interrupt_ioapic(unsigned vector)
{
    (void)vector;
    console_irq();
    lapic_eoi();
}

/* The CPUs as the MP table lists them, the boot CPU first (it runs on
 * idle_stacks[0] already); each one's idle task names it. */
static void setup_cpus(const struct mp_info *mp)
{
    ncpus = mp->found ? mp->ncpus : 1;
    cpus[0].id = 0;
    cpus[0].bsp = true;
    cpus[0].apic_id = mp->found ? mp->apic_ids[mp->bsp] : lapic_id();
    cpus[0].online = true;
    unsigned next = 1;
    for (unsigned i = 0; mp->found && i < mp->ncpus; i++) {
        if (i == mp->bsp)
            continue;
        cpus[next].id = next;
        cpus[next].apic_id = mp->apic_ids[i];
        sched_init_cpu(next);
        next++;
    }
}

static void print_mptable(const struct mp_info *mp)
{
    if (!mp->found) {
        kprintf("warn mptable=missing fallback=uniprocessor\n");
        return;
    }
    if (mp->listed > mp->ncpus)
        kprintf("warn mptable=cpus listed=%u kept=%u reason=above_max_cpus\n", mp->listed, mp->ncpus);
    kprintf("mptable address=0x%lx cpus=%u bsp_apic=%u ioapic_id=%u ioapic=0x%lx irq0_pin=%d\n",
            mp->table_addr, mp->ncpus, mp->apic_ids[mp->bsp], mp->ioapic_id, mp->ioapic_addr,
            mp->isa_pin[0]);
}

/* intc=ioapic: the PIT and COM1 through the IOAPIC pins the MP table
 * names (IRQ0 is on pin 2 on a PC, not pin 0), to the boot CPU. */
static unsigned route_devices(const struct mp_info *mp)
{
    unsigned pic = PIC_UNMASK(IRQ_COM1) | (cfg.tick == TICK_PIT ? PIC_UNMASK(0) : 0);
    if (cfg.intc != INTC_IOAPIC) {
        trap_set_handler(IRQ_BASE + IRQ_COM1, com1_interrupt_pic);
        trace_set_vector_gsi(IRQ_BASE + IRQ_COM1, IRQ_COM1);
        return pic;
    }
    int pit_pin = mp->found ? mp->isa_pin[0] : 2;
    int com1_pin = mp->found ? mp->isa_pin[IRQ_COM1] : IRQ_COM1;
    if (pit_pin < 0 || com1_pin < 0) {
        kprintf("error mptable=incomplete reason=no_isa_irq_entry irq=%d\n", pit_pin < 0 ? 0 : IRQ_COM1);
        kernel_exit(EXIT_BAD_BOOT);
    }
    uint8_t bsp = cpus[0].apic_id;
    if (cfg.tick == TICK_PIT) {
        ioapic_route((unsigned)pit_pin, (uint8_t)(IOAPIC_VECTOR_BASE + pit_pin), false, bsp);
        tick_set_pit_vector((uint8_t)(IOAPIC_VECTOR_BASE + pit_pin), true);
    }
    ioapic_route((unsigned)com1_pin, (uint8_t)(IOAPIC_VECTOR_BASE + com1_pin), false, bsp);
    trap_set_handler(IOAPIC_VECTOR_BASE + com1_pin, com1_interrupt_ioapic);
    trace_set_vector_gsi(IOAPIC_VECTOR_BASE + com1_pin, IRQ_COM1);
    return 0;
}

void kmain(void)
{
    sched_init_cpu(0);
    gdt_init_cpu(&cpus[0]);
    idt_init();
    uart_init();
    trap_set_handler(IRQ_BASE + IRQ_COM1, com1_interrupt_pic);
    config_defaults(&cfg);

    struct bootinfo bi = read_bootinfo();
    console_quiet = quiet_requested(cmdline);
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
    if (cfg.init[0])
        proc_init_cpu();

    console_set_mode(cfg.uart);
    crash_now(cfg.crash);

    /* The special modes run on the boot CPU alone, as before SMP; bench=ipi
     * comes below, once the APs are up. */
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

    /* Initialised once, everything masked: a second initialisation would
     * clear edges latched in the meantime. */
    pic_init(0);
    struct mp_info mp;
    if (!mptable_read(&mp, cfg.mptable_corrupt))
        kernel_exit(EXIT_BAD_BOOT);
    print_mptable(&mp);
    setup_cpus(&mp);
    ioapic_base = mp.ioapic_addr;
    lapic_enable();
    ipi_init();
    unsigned pic = route_devices(&mp) | irq_setup(cpus[0].apic_id);
    if (!tick_init())
        kernel_exit(EXIT_BAD_BOOT);
    /* Before the APs run anything (with tick=lapic their timers start in
     * ap_main), so every CPU's first interrupt is in its ring. */
    if (cfg.mode == MODE_TASKS) /* the special modes do not trace */
        trace_init(ncpus);
    unsigned online = smp_boot_aps();
    if (cfg.mode == MODE_BENCH_IPI) /* needs the APs: no tasks and no tick, only its IPIs */
        bench_ipi_run(online);
    if (cfg.mode == MODE_SMPTEST) /* likewise: every CPU runs the lock test */
        smptest_run(online);
    sched_init();
    if (cfg.init[0])
        start_programs(&bi);
    pic_set_mask(pic);
    console_irq_routed();
    tick_start();
    for (unsigned c = 1; c < ncpus; c++) /* they idle until told their queues have work */
        if (cpus[c].online)
            ipi_send(c, IPI_RESCHED);
    sched_run_cpu();
}
