/* acpi.c - the tables walked with every length and checksum checked, as the
 * tables come from the VMM and are not trusted to be well formed. */
#include "arch/acpi.h"

#include <stdbool.h>
#include <stddef.h>

#include "arch/firmware.h"
#include "arch/x86.h"
#include "lib/string.h"

#define SDT_HEADER_BYTES 36
#define FADT_DSDT 40
#define FADT_PM1A_CNT_BLK 64
#define FADT_X_DSDT 140
#define PM1_SLP_EN (1u << 13)
#define AML_PACKAGE_OP 0x12
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_BYTE_PREFIX 0x0A


static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A system description table at addr with this signature, or NULL. */
static const uint8_t *table(uint64_t addr, const char *signature, uint32_t *length)
{
    if (!firmware_mapped(addr, SDT_HEADER_BYTES))
        return NULL;
    const uint8_t *t = (const uint8_t *)addr;
    uint32_t len = le32(t + 4);
    if (memcmp(t, signature, 4) != 0 || len < SDT_HEADER_BYTES || !firmware_mapped(addr, len) || firmware_sum(t, len) != 0)
        return NULL;
    *length = len;
    return t;
}

static const uint8_t *find_rsdp(void)
{
    for (uint64_t p = 0xE0000; p + 20 <= 0x100000; p += 16) {
        const uint8_t *r = (const uint8_t *)p;
        if (memcmp(r, "RSD PTR ", 8) == 0 && firmware_sum(r, 20) == 0)
            return r;
    }
    return NULL;
}

/* The FADT among the root table's entries (4 bytes each in the RSDT, 8 in
 * the XSDT). */
static const uint8_t *find_fadt(const uint8_t *root, uint32_t length, unsigned entry_bytes, uint32_t *fadt_length)
{
    for (uint32_t at = SDT_HEADER_BYTES; at + entry_bytes <= length; at += entry_bytes) {
        uint64_t addr = entry_bytes == 8 ? le64(root + at) : le32(root + at);
        const uint8_t *fadt = table(addr, "FACP", fadt_length);
        if (fadt)
            return fadt;
    }
    return NULL;
}

/* Name (_S5_, Package () { SLP_TYPa, ... }) anywhere in the definition block:
 * a scan, as small kernels do, rather than an AML interpreter. */
static bool find_s5_type(const uint8_t *dsdt, uint32_t length, uint16_t *slp_typ)
{
    for (uint32_t at = SDT_HEADER_BYTES; at + 4 + 4 <= length; at++) {
        if (memcmp(dsdt + at, "_S5_", 4) != 0 || dsdt[at + 4] != AML_PACKAGE_OP)
            continue;
        const uint8_t *p = dsdt + at + 5;
        if (p[0] & 0xC0) /* a PkgLength of more than one byte: not ours to parse */
            return false;
        const uint8_t *element = p + 2; /* past PkgLength and NumElements */
        if (element >= dsdt + length)
            return false;
        if (element[0] == AML_ZERO_OP || element[0] == AML_ONE_OP) {
            *slp_typ = element[0];
            return true;
        }
        if (element[0] == AML_BYTE_PREFIX && element + 1 < dsdt + length) {
            *slp_typ = element[1];
            return true;
        }
        return false;
    }
    return false;
}

const char *acpi_find_s5(struct acpi_s5 *s5)
{
    const uint8_t *rsdp = find_rsdp();
    if (!rsdp)
        return "no_rsdp";
    s5->rsdp = (uint64_t)rsdp;
    uint32_t root_length = 0, fadt_length = 0;
    const uint8_t *fadt = NULL;
    if (rsdp[15] >= 2 && firmware_sum(rsdp, 36) == 0) {
        const uint8_t *xsdt = table(le64(rsdp + 24), "XSDT", &root_length);
        if (xsdt)
            fadt = find_fadt(xsdt, root_length, 8, &fadt_length);
    }
    if (!fadt) {
        const uint8_t *rsdt = table(le32(rsdp + 16), "RSDT", &root_length);
        if (!rsdt)
            return "no_root_table";
        fadt = find_fadt(rsdt, root_length, 4, &fadt_length);
    }
    if (!fadt || fadt_length < FADT_PM1A_CNT_BLK + 4)
        return "no_fadt";
    s5->fadt = (uint64_t)fadt;
    uint32_t port = le32(fadt + FADT_PM1A_CNT_BLK);
    if (port == 0 || port > 0xFFFF)
        return "no_pm1a_cnt";
    s5->pm1a_cnt = (uint16_t)port;
    uint64_t dsdt_addr = fadt_length >= FADT_X_DSDT + 8 ? le64(fadt + FADT_X_DSDT) : 0;
    if (!dsdt_addr)
        dsdt_addr = le32(fadt + FADT_DSDT);
    uint32_t dsdt_length = 0;
    const uint8_t *dsdt = table(dsdt_addr, "DSDT", &dsdt_length);
    if (!dsdt)
        return "no_dsdt";
    if (!find_s5_type(dsdt, dsdt_length, &s5->slp_typ))
        return "no_s5";
    return NULL;
}

void acpi_enter_s5(const struct acpi_s5 *s5)
{
    outw(s5->pm1a_cnt, (uint16_t)((s5->slp_typ & 7) << 10 | PM1_SLP_EN));
}
