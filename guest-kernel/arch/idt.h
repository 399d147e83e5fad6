/* arch/idt.h - the IDT, shared by every CPU. */
#pragma once

void idt_init(void);   /* builds the table and loads it on this CPU */
void idt_load(void);   /* loads the built table on another CPU */
void idt_load_empty(void);
void idt_set_handler(unsigned vector, void (*entry)(void));
