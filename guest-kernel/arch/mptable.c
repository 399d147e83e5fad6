/* mptable.c - the Intel MultiProcessor Specification 1.4 table (chapter 4),
 * checked as Linux's arch/x86/kernel/mpparse.c checks it: the floating
 * pointer's signature, length and checksum, the configuration table's
 * signature, revision, checksum and entries walked to exactly its length.
 * From it: the enabled processors (APIC id, boot flag), the I/O APIC, and
 * the IOAPIC pin of each ISA IRQ (IRQ0 is on pin 2 on a PC). */
#include "arch/mptable.h"

#include "arch/firmware.h"

#include "kernel/console.h"
#include "lib/string.h"

struct mpf_intel { /* floating pointer structure, 16 bytes */
    char signature[4]; /* "_MP_" */
    uint32_t physptr;
    uint8_t length; /* in 16-byte units: 1 */
    uint8_t specification;
    uint8_t checksum;
    uint8_t feature[5];
} __attribute__((packed));

struct mpc_table { /* configuration table header, 44 bytes */
    char signature[4]; /* "PCMP" */
    uint16_t length;
    uint8_t spec;
    uint8_t checksum;
    char oem[8];
    char productid[12];
    uint32_t oemptr;
    uint16_t oemsize;
    uint16_t oemcount;
    uint32_t lapic;
    uint32_t reserved;
} __attribute__((packed));

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };

struct mpc_cpu {
    uint8_t type, apicid, apicver, cpuflag;
    uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
    uint8_t type, busid;
    char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
    uint8_t type, apicid, apicver, flags;
    uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
    uint8_t type, irqtype;
    uint16_t irqflag;
    uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

#define CPU_ENABLED 0x01
#define CPU_BOOTPROCESSOR 0x02
#define MP_IRQ_INT 0
#define MAX_BUSES 32

static const struct mpf_intel *scan(uint64_t base, uint64_t length)
{
    for (uint64_t p = base; p + 16 <= base + length; p += 16) {
        const struct mpf_intel *mpf = (const void *)p;
        if (memcmp(mpf->signature, "_MP_", 4) == 0 && mpf->length == 1 &&
            firmware_sum(mpf, 16) == 0 && (mpf->specification == 1 || mpf->specification == 4))
            return mpf;
    }
    return NULL;
}

static bool fail(const struct mp_info *mp, const char *reason, uint64_t value)
{
    kprintf("error mptable=corrupt address=0x%lx reason=%s value=0x%lx\n", mp->table_addr, reason,
            value);
    return false;
}

bool mptable_read(struct mp_info *mp, bool corrupt_first)
{
    memset(mp, 0, sizeof(*mp));
    for (int i = 0; i < 16; i++)
        mp->isa_pin[i] = -1;
    mp->ioapic_addr = 0xFEC00000UL;
    mp->ncpus = 1;

    const struct mpf_intel *mpf = scan(0x9FC00, 0x400);
    if (!mpf)
        mpf = scan(0xF0000, 0x10000);
    if (!mpf || !mpf->physptr) /* physptr 0: a default configuration, not supported */
        return true;
    mp->found = true;
    mp->table_addr = (uint64_t)mpf;

    uint64_t addr = mpf->physptr;
    if (!firmware_mapped(addr, sizeof(struct mpc_table)))
        return fail(mp, "unmapped", addr);
    struct mpc_table *mpc = (struct mpc_table *)addr;
    if (corrupt_first) /* mptable_corrupt=1: what a damaged table looks like */
        mpc->checksum ^= 0x5A;
    if (memcmp(mpc->signature, "PCMP", 4) != 0)
        return fail(mp, "signature", addr);
    if (mpc->length < sizeof(*mpc) || !firmware_mapped(addr, mpc->length))
        return fail(mp, "length", mpc->length);
    if (firmware_sum(mpc, mpc->length) != 0)
        return fail(mp, "checksum", mpc->checksum);
    if (mpc->spec != 1 && mpc->spec != 4)
        return fail(mp, "revision", mpc->spec);
    if (!mpc->lapic)
        return fail(mp, "no_lapic", 0);

    bool isa_bus[MAX_BUSES] = { false };
    bool have_ioapic = false, have_bsp = false;
    unsigned ncpu = 0;
    const uint8_t *p = (const uint8_t *)(mpc + 1), *end = (const uint8_t *)mpc + mpc->length;
    while (p < end) {
        size_t size = *p == MP_PROCESSOR ? sizeof(struct mpc_cpu) : 8;
        if (*p > MP_LINTSRC)
            return fail(mp, "entry_type", *p);
        if (p + size > end)
            return fail(mp, "entry_length", (uint64_t)(p - (const uint8_t *)mpc));
        switch (*p) {
        case MP_PROCESSOR: {
            const struct mpc_cpu *c = (const void *)p;
            if (!(c->cpuflag & CPU_ENABLED))
                break;
            mp->listed++;
            if (ncpu < MAX_CPUS) {
                if (c->cpuflag & CPU_BOOTPROCESSOR) {
                    mp->bsp = ncpu;
                    have_bsp = true;
                }
                mp->apic_ids[ncpu++] = c->apicid;
            }
            break;
        }
        case MP_BUS: {
            const struct mpc_bus *b = (const void *)p;
            if (b->busid < MAX_BUSES)
                isa_bus[b->busid] = memcmp(b->bustype, "ISA", 3) == 0;
            break;
        }
        case MP_IOAPIC: {
            const struct mpc_ioapic *io = (const void *)p;
            if ((io->flags & 1) && !have_ioapic) { /* the first enabled one */
                have_ioapic = true;
                mp->ioapic_id = io->apicid;
                mp->ioapic_addr = io->apicaddr;
            }
            break;
        }
        case MP_INTSRC: {
            const struct mpc_intsrc *s = (const void *)p;
            if (s->irqtype == MP_IRQ_INT && s->srcbus < MAX_BUSES && isa_bus[s->srcbus] &&
                s->srcbusirq < 16)
                mp->isa_pin[s->srcbusirq] = (int8_t)s->dstirq;
            break;
        }
        default: /* local interrupt entries: vmm and the BIOS set LINT0/1 up */
            break;
        }
        p += size;
    }
    if (!ncpu)
        return fail(mp, "no_cpus", 0);
    if (!have_bsp)
        return fail(mp, "no_boot_cpu", 0);
    if (!have_ioapic)
        return fail(mp, "no_ioapic", 0);
    /* boot.S maps 0xFEC00000-0xFEFFFFFF for the IOAPIC and the LAPIC. */
    if (mp->ioapic_addr < 0xFEC00000UL || mp->ioapic_addr > 0xFEDFF000UL)
        return fail(mp, "ioapic_address", mp->ioapic_addr);
    mp->ncpus = ncpu;
    return true;
}
