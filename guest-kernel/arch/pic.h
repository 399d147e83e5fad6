/* arch/pic.h - the 8259A pair, remapped to vectors 0x20-0x2F. */
#pragma once

#include <stdbool.h>

#define IRQ_BASE 0x20
#define IRQ_PIT 0
#define PIC_UNMASK(irq) (1u << (irq))
void pic_init(unsigned unmasked); /* bit n set: IRQ n (0-15) unmasked */
void pic_set_mask(unsigned unmasked);
void pic_eoi(unsigned irq);
bool pic_is_spurious(unsigned irq);
