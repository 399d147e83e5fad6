/* arch/ioapic.h - the I/O APIC's redirection table (82093AA datasheet). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_VECTOR_BASE 0x30 /* pin n -> vector 0x30 + n */

/* Fixed delivery, physical destination `apic_id`, active high, unmasked. */
void ioapic_route(unsigned pin, uint8_t vector, bool level, uint8_t apic_id);
extern uint64_t ioapic_base; /* from the MP table; boot.S maps 0xFEC00000-0xFEFFFFFF */
