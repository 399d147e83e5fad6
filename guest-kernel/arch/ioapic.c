/* ioapic.c - the I/O APIC's redirection table (82093AA datasheet, 3.2.4):
 * an index register at +0x00 selects, the window at +0x10 reads and
 * writes. The address comes from the MP table. */
#include "arch/ioapic.h"

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define IOAPIC_LEVEL (1u << 15)

uint64_t ioapic_base = 0xFEC00000UL;

static inline void ioapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(ioapic_base + IOAPIC_REGSEL) = reg;
    *(volatile uint32_t *)(ioapic_base + IOAPIC_WIN) = v;
}

void ioapic_route(unsigned pin, uint8_t vector, bool level, uint8_t apic_id)
{
    /* High half (destination) first, so the pin is never live with a stale
     * destination. */
    ioapic_write(IOAPIC_REDTBL(pin) + 1, (uint32_t)apic_id << 24);
    ioapic_write(IOAPIC_REDTBL(pin), vector | (level ? IOAPIC_LEVEL : 0));
}
