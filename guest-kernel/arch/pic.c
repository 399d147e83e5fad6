/* pic.c - the 8259A pair. Remapped to vectors 0x20-0x2F so IRQs do not
 * collide with CPU exceptions; only the lines the mode uses are unmasked
 * (IRQ0 (PIT) and IRQ4 (COM1) for the tasks, plus the `irqs=` lines;
 * any slave line also unmasks the cascade IRQ2). */
#include "arch/pic.h"

#include "arch/x86.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1

void pic_init(unsigned unmasked)
{
    outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, IRQ_BASE);     /* ICW2: vector base */
    outb(PIC2_DATA, IRQ_BASE + 8);
    outb(PIC1_DATA, 0x04); /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 0x02); /* ICW3: slave identity */
    outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode, normal EOI */
    outb(PIC2_DATA, 0x01);
    if (unmasked & 0xFF00)
        unmasked |= PIC_UNMASK(2); /* the cascade, for slave lines */
    outb(PIC1_DATA, (uint8_t)~unmasked);
    outb(PIC2_DATA, (uint8_t)~(unmasked >> 8));
}

void pic_set_mask(unsigned unmasked)
{
    if (unmasked & 0xFF00)
        unmasked |= PIC_UNMASK(2); /* the cascade, for slave lines */
    outb(PIC1_DATA, (uint8_t)~unmasked);
    outb(PIC2_DATA, (uint8_t)~(unmasked >> 8));
}

void pic_eoi(unsigned irq)
{
    if (irq >= 8)
        outb(PIC2_CMD, 0x20);
    outb(PIC1_CMD, 0x20);
}

/* IRQ7/IRQ15 may be spurious (the line dropped before the INTA cycle); the
 * in-service bit tells. A spurious IRQ must not be EOIed on its own PIC. */
bool pic_is_spurious(unsigned irq)
{
    if (irq != 7 && irq != 15)
        return false;
    uint16_t cmd = irq == 7 ? PIC1_CMD : PIC2_CMD;
    outb(cmd, 0x0B); /* OCW3: read ISR */
    return !(inb(cmd) & 0x80);
}
