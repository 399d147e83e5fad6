/* arch/acpi.h - power-off through ACPI's S5 sleep state, found the way an OS
 * finds it: RSDP, RSDT or XSDT, FADT, and \_S5 in the DSDT. */
#pragma once

#include <stdint.h>

struct acpi_s5 {
    uint64_t rsdp;
    uint64_t fadt;
    uint16_t pm1a_cnt; /* PM1a control block port */
    uint16_t slp_typ;  /* \_S5's first element */
};

/* Finds the S5 registers; returns NULL or why not (a word for the log). */
const char *acpi_find_s5(struct acpi_s5 *s5);

/* Writes SLP_TYP | SLP_EN; returns only if the machine is still running. */
void acpi_enter_s5(const struct acpi_s5 *s5);
