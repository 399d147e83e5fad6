/* cmdline.c - options from the Multiboot command line.
 *
 * Space-separated key=value tokens. Tokens without '=' (QEMU passes the
 * kernel path first) are ignored, unknown keys warn, bad values are fatal. */
#include "kernel/config.h"

#include "arch/cpu.h"
#include "kernel/console.h"
#include "lib/string.h"

#define MAX_TOKEN 64 /* longer keys/values are truncated in messages */

struct num_opt {
    const char *key;
    uint32_t *dst;
    uint32_t min, max;
};

static const char *const uart_words[] = { "irq", "poll", NULL };
static const char *const crash_words[] = { "none", "ud", "pf", "gp", "user", "triple", "syscall", NULL };
static const char *const nmi_words[] = { "count", "finish", NULL };
static const char *const exit_words[] = { "debug", "acpi", NULL };
static const char *const bench_words[] = { "none", "pit", "serial", "irq", "ipi", NULL };
static const char *const bench_wait_words[] = { "hlt", "spin", NULL };
static const char *const intc_words[] = { "pic", "ioapic", NULL };
static const char *const tick_words[] = { "pit", "lapic", NULL };
static const char *const placement_words[] = { "spread", "cpu0", NULL };

static char waiters_spec[MAX_TOKEN_IRQS + 1];

const char *uart_mode_name(enum uart_mode m)
{
    return uart_words[m];
}

const char *crash_mode_name(enum crash_mode m)
{
    return crash_words[m];
}

const char *nmi_mode_name(enum nmi_mode m)
{
    return nmi_words[m];
}

const char *bench_mode_name(enum bench_mode m)
{
    return bench_words[m];
}

const char *bench_wait_name(enum bench_wait w)
{
    return bench_wait_words[w];
}

const char *intc_mode_name(enum intc_mode m)
{
    return intc_words[m];
}

const char *tick_mode_name(enum tick_mode m)
{
    return tick_words[m];
}

static const char *const sched_words[] = { "rr", "o1", NULL };

const char *sched_mode_name(enum sched_mode m)
{
    return sched_words[m];
}

void config_defaults(struct config *c)
{
    c->tasks = 4;
    c->quantum_ms = 10;
    c->hz = 1000;
    c->runtime_ms = 2000;
    c->progress_ms = 100;
    c->task_ms = 0;
    c->uart = UART_IRQ;
    c->crash = CRASH_NONE;
    c->nmi = NMI_COUNT;
    c->exit_via = EXIT_VIA_DEBUG;
    c->selftest = 0;
    c->bench = BENCH_NONE;
    c->bench_ms = 10000;
    c->bench_bytes = 1048576;
    c->bench_rounds = 10000;
    c->bench_wait = WAIT_HLT;
    c->tsc_khz = 0;
    c->echo = 0;
    c->echo_lines = 0;
    c->intc = INTC_PIC;
    /* The PIT's IRQ0 passed on by IPI, not each CPU's LAPIC timer: it puts
     * the device vmm emulates, and an IPI, on every CPU's time slice, and
     * with one CPU it is the uniprocessor kernel's tick exactly. */
    c->tick = TICK_PIT;
    c->placement = PLACE_SPREAD;
    c->sched = SCHED_MODE_RR;
    c->nwaiters = 0;
    c->wake_log = 1;
    c->sleepers = 0;
    c->nap_ms = 10;
    c->wake_mark = 0;
    c->mptable_corrupt = 0;
    c->smptest = 0;
    c->nirqs = 0;
}

static bool span_eq(const char *p, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n; i++)
        if (lit[i] != p[i])
            return false;
    return lit[i] == '\0';
}

/* Copies a token into a NUL-terminated buffer for printing; characters that
 * would break the key=value line format become '?'. */
static const char *show(char *dst, const char *p, size_t n)
{
    size_t i = 0;
    for (; i < n && i < MAX_TOKEN; i++)
        dst[i] = (p[i] > ' ' && p[i] < 0x7F && p[i] != '"') ? p[i] : '?';
    dst[i] = '\0';
    return dst;
}

bool parse_error(const char *k, size_t kn, const char *v, size_t vn, const char *reason)
{
    char kb[MAX_TOKEN + 1], vb[MAX_TOKEN + 1];
    kprintf("error option=%s value=%s reason=%s\n", show(kb, k, kn), show(vb, v, vn), reason);
    return false;
}

/* Index of the word in a NULL-terminated list, or -1. */
static int match_word(const char *p, size_t n, const char *const *words)
{
    for (int w = 0; words[w]; w++)
        if (span_eq(p, n, words[w]))
            return w;
    return -1;
}

/* Decimal digits only. A number too large for 32 bits still parses (as
 * UINT64_MAX) so the caller reports it as out of range, not as garbage. */
static bool parse_number(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        if (v <= 0xFFFFFFFFull)
            v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return true;
}

/* waiters=GSI[,GSI...]: one waiting task per entry, on that irqs= line
 * (checked once all options are in). */
static bool parse_waiters(struct config *c, const char *k, size_t kn, const char *v, size_t vn)
{
    size_t keep = vn < MAX_TOKEN_IRQS ? vn : MAX_TOKEN_IRQS;
    for (size_t i = 0; i < keep; i++)
        waiters_spec[i] = (v[i] > ' ' && v[i] < 0x7F && v[i] != '"') ? v[i] : '?';
    waiters_spec[keep] = '\0';
    c->nwaiters = 0;
    size_t i = 0;
    while (i <= vn) {
        size_t s = i;
        while (i < vn && v[i] != ',')
            i++;
        uint64_t gsi;
        if (!parse_number(v + s, i - s, &gsi))
            return parse_error(k, kn, v, vn, "not_a_number");
        if (gsi > 0xFFFF || c->nwaiters >= MAX_TASKS)
            return parse_error(k, kn, v, vn, "out_of_range");
        c->waiter_gsi[c->nwaiters++] = (uint16_t)gsi;
        i++;
    }
    return true;
}

/* One key=value pair; false after printing an error line. */
static bool apply(struct config *c, const char *k, size_t kn, const char *v, size_t vn)
{
    const struct num_opt nums[] = {
        { "tasks", &c->tasks, 1, MAX_TASKS },
        { "quantum_ms", &c->quantum_ms, 1, 60000 },
        { "hz", &c->hz, 18, 10000 },
        { "runtime_ms", &c->runtime_ms, 0, 1000000000 },
        { "progress_ms", &c->progress_ms, 0, 1000000000 },
        { "task_ms", &c->task_ms, 0, 1000000000 },
        { "selftest", &c->selftest, 0, 2 },
        { "bench_ms", &c->bench_ms, 0, 1000000000 }, /* 0: bench=irq only */
        { "bench_bytes", &c->bench_bytes, 0, 0xFFFFFFFF },
        { "bench_rounds", &c->bench_rounds, 1, 10000000 },
        { "tsc_khz", &c->tsc_khz, 0, 100000000 },
        { "echo", &c->echo, 0, 0xFFFFFFFF },
        { "echo_lines", &c->echo_lines, 0, 1 },
        { "wake_log", &c->wake_log, 0, 1000000000 },
        { "sleepers", &c->sleepers, 0, MAX_TASKS },
        { "nap_ms", &c->nap_ms, 1, 60000 },
        { "wake_mark", &c->wake_mark, 0, 1 },
        { "mptable_corrupt", &c->mptable_corrupt, 0, 1 },
        { "smptest", &c->smptest, 0, 1000000 },
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (!span_eq(k, kn, nums[i].key))
            continue;
        uint64_t val;
        if (!parse_number(v, vn, &val))
            return parse_error(k, kn, v, vn, "not_a_number");
        if (val < nums[i].min || val > nums[i].max)
            return parse_error(k, kn, v, vn, "out_of_range");
        *nums[i].dst = (uint32_t)val;
        if (nums[i].dst == &c->tasks)
            c->tasks_given = true;
        if (nums[i].dst == &c->runtime_ms)
            c->runtime_given = true;
        return true;
    }
    int w;
    if (span_eq(k, kn, "uart")) {
        if ((w = match_word(v, vn, uart_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->uart = (enum uart_mode)w;
        return true;
    }
    if (span_eq(k, kn, "crash")) {
        if ((w = match_word(v, vn, crash_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->crash = (enum crash_mode)w;
        return true;
    }
    if (span_eq(k, kn, "exit")) {
        if ((w = match_word(v, vn, exit_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->exit_via = (enum exit_via)w;
        return true;
    }
    if (span_eq(k, kn, "nmi")) {
        if ((w = match_word(v, vn, nmi_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->nmi = (enum nmi_mode)w;
        return true;
    }
    if (span_eq(k, kn, "bench")) {
        if ((w = match_word(v, vn, bench_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->bench = (enum bench_mode)w;
        return true;
    }
    if (span_eq(k, kn, "bench_wait")) {
        if ((w = match_word(v, vn, bench_wait_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->bench_wait = (enum bench_wait)w;
        return true;
    }
    if (span_eq(k, kn, "intc")) {
        if ((w = match_word(v, vn, intc_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->intc = (enum intc_mode)w;
        return true;
    }
    if (span_eq(k, kn, "tick")) {
        if ((w = match_word(v, vn, tick_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->tick = (enum tick_mode)w;
        return true;
    }
    if (span_eq(k, kn, "sched")) {
        if ((w = match_word(v, vn, sched_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->sched = (enum sched_mode)w;
        c->sched_given = true;
        return true;
    }
    if (span_eq(k, kn, "placement")) {
        if ((w = match_word(v, vn, placement_words)) < 0)
            return parse_error(k, kn, v, vn, "unknown_value");
        c->placement = (enum placement_mode)w;
        return true;
    }
    if (span_eq(k, kn, "waiters"))
        return parse_waiters(c, k, kn, v, vn);
    if (span_eq(k, kn, "irqs"))
        return irq_parse(c, v, vn);
    char kb[MAX_TOKEN + 1];
    kprintf("warn unknown_option=%s\n", show(kb, k, kn));
    return true;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

bool config_parse(struct config *c, const char *s)
{
    while (*s) {
        while (is_space(*s))
            s++;
        const char *tok = s;
        while (*s && !is_space(*s))
            s++;
        size_t n = (size_t)(s - tok);
        /* init= takes the rest of the line: the program and its
         * arguments, as Linux passes what follows "--" to init. */
        if (n > 5 && span_eq(tok, 5, "init=")) {
            size_t len = strlen(tok + 5);
            while (len && is_space(tok[5 + len - 1]))
                len--;
            if (len >= sizeof(c->init))
                return parse_error(tok, 4, tok + 5, len, "too_long");
            memcpy(c->init, tok + 5, len);
            c->init[len] = '\0';
            break;
        }
        if (span_eq(tok, n, "quiet")) {
            c->quiet = true;
            continue;
        }
        size_t eq = 0;
        while (eq < n && tok[eq] != '=')
            eq++;
        if (n == 0 || eq == n)
            continue; /* empty, or a bare word such as the kernel path */
        if (!apply(c, tok, eq, tok + eq + 1, n - eq - 1))
            return false;
    }

    /* A program as init replaces the built-in workers and the run's fixed
     * length, unless they are asked for: the run ends when init exits. */
    if (c->init[0]) {
        if (!c->tasks_given)
            c->tasks = 0;
        if (!c->runtime_given)
            c->runtime_ms = 0;
        /* Programs get the scheduler of the Linux they are compared with
         * (2.6's O(1)), with nice and real-time classes that mean
         * something; the built-in tasks keep round-robin, whose equal
         * slices their tests and the default run's output are about. */
        if (!c->sched_given)
            c->sched = SCHED_MODE_O1;
    }

    /* selftest, bench and echo replace the tasks; at most one of them. */
    c->mode = MODE_TASKS;
    if (c->selftest)
        c->mode = MODE_SELFTEST;
    if (c->bench != BENCH_NONE) {
        if (c->mode != MODE_TASKS) {
            kprintf("error option=bench value=%s reason=conflict\n", bench_mode_name(c->bench));
            return false;
        }
        c->mode = c->bench == BENCH_PIT      ? MODE_BENCH_PIT
                  : c->bench == BENCH_SERIAL ? MODE_BENCH_SERIAL
                  : c->bench == BENCH_IPI    ? MODE_BENCH_IPI
                                             : MODE_BENCH_IRQ;
    }
    /* bench=ipi wants nothing but its IPIs on the CPUs: the APs would
     * start their LAPIC timers. */
    if (c->mode == MODE_BENCH_IPI && c->tick != TICK_PIT) {
        kprintf("error option=tick value=%s reason=conflict\n", tick_mode_name(c->tick));
        return false;
    }
    /* bench_ms=0 (run for ever) only makes sense for bench=irq. */
    if (c->bench_ms == 0 && c->mode != MODE_BENCH_IRQ) {
        kprintf("error option=bench_ms value=0 reason=out_of_range\n");
        return false;
    }
    if (c->echo) {
        if (c->mode != MODE_TASKS) {
            kprintf("error option=echo value=%u reason=conflict\n", c->echo);
            return false;
        }
        c->mode = MODE_ECHO;
    }
    if (c->smptest) {
        if (c->mode != MODE_TASKS) {
            kprintf("error option=smptest value=%u reason=conflict\n", c->smptest);
            return false;
        }
        c->mode = MODE_SMPTEST;
    }

    if (!irq_validate(c))
        return false;
    for (uint32_t w = 0; w < c->nwaiters; w++) {
        bool found = false;
        for (uint32_t k = 0; k < c->nirqs; k++)
            found = found || c->irqs[k].gsi == c->waiter_gsi[w];
        if (!found) /* a waiter needs a line that is set up */
            return parse_error("waiters", 7, waiters_spec, strlen(waiters_spec), "not_an_irqs_line");
    }
    if (c->init[0] && c->mode != MODE_TASKS) {
        kprintf("error option=init reason=conflict\n");
        return false;
    }
    if (c->nwaiters && c->mode != MODE_TASKS)
        return parse_error("waiters", 7, waiters_spec, strlen(waiters_spec), "conflict");
    if (c->tasks + c->nwaiters > MAX_TASKS)
        return parse_error("waiters", 7, waiters_spec, strlen(waiters_spec), "too_many_tasks");
    if (c->tasks + c->nwaiters + c->sleepers > MAX_TASKS) {
        kprintf("error option=sleepers value=%u reason=too_many_tasks\n", c->sleepers);
        return false;
    }

    /* The slice must be at least one tick at the chosen rate (only where
     * there are tasks to slice). */
    uint64_t q = (uint64_t)c->quantum_ms * c->hz;
    if (q < 1000 && c->mode == MODE_TASKS) {
        kprintf("error option=quantum_ms value=%u reason=below_tick\n", c->quantum_ms);
        return false;
    }
    c->quantum_ticks = q < 1000 ? 1 : (uint32_t)((q + 500) / 1000);
    uint64_t r = (uint64_t)c->runtime_ms * c->hz;
    c->runtime_ticks = (r + 500) / 1000;
    if (c->runtime_ms && !c->runtime_ticks)
        c->runtime_ticks = 1;
    return true;
}

void config_print(const struct config *c)
{
    kprintf("config tasks=%u quantum_ms=%u hz=%u runtime_ms=%u progress_ms=%u task_ms=%u "
            "uart=%s crash=%s",
            c->tasks, c->quantum_ms, c->hz, c->runtime_ms, c->progress_ms, c->task_ms,
            uart_mode_name(c->uart), crash_mode_name(c->crash));
    if (c->nmi != NMI_COUNT)
        kprintf(" nmi=%s", nmi_mode_name(c->nmi));
    if (c->exit_via != EXIT_VIA_DEBUG)
        kprintf(" exit=%s", exit_words[c->exit_via]);
    /* Mode keys only for the special modes, so the default line is as before. */
    switch (c->mode) {
    case MODE_SELFTEST:
        kprintf(" selftest=%u\n", c->selftest);
        break;
    case MODE_BENCH_PIT:
        kprintf(" bench=pit bench_ms=%u tsc_khz=%u\n", c->bench_ms, c->tsc_khz);
        break;
    case MODE_BENCH_SERIAL:
        kprintf(" bench=serial bench_bytes=%u\n", c->bench_bytes);
        break;
    case MODE_ECHO:
        kprintf(" echo=%u echo_lines=%u\n", c->echo, c->echo_lines);
        break;
    case MODE_SMPTEST:
        kprintf(" smptest=%u\n", c->smptest);
        break;
    case MODE_BENCH_IPI:
        kprintf(" bench=ipi bench_rounds=%u bench_wait=%s tsc_khz=%u\n", c->bench_rounds,
                bench_wait_name(c->bench_wait), c->tsc_khz);
        break;
    case MODE_BENCH_IRQ:
        kprintf(" bench=irq bench_ms=%u", c->bench_ms);
        irq_print_config(c);
        kprintf("\n");
        break;
    default:
        if (c->nirqs)
            irq_print_config(c);
        kprintf(" tick=%s placement=%s", tick_mode_name(c->tick), placement_words[c->placement]);
        if (c->nwaiters)
            kprintf(" waiters=%s wake_log=%u", waiters_spec, c->wake_log);
        if (c->sleepers)
            kprintf(" sleepers=%u nap_ms=%u", c->sleepers, c->nap_ms);
        if (c->wake_mark)
            kprintf(" wake_mark=1");
        if (c->sched != SCHED_MODE_RR)
            kprintf(" sched=%s", sched_mode_name(c->sched));
        if (c->init[0])
            kprintf(" init=\"%s\"", c->init);
        kprintf("\n");
        break;
    }
}
