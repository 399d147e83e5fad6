/* abi/lines.h - vmm's scripted interrupt lines, seen from the guest.
 *
 * IRQ_ACK_PORT (16 bits; written and read by the guest's handler, served by
 * vmm's devices/InterruptAckPort.h): a handler writes the GSI it services, as
 * a driver clears its device's interrupt status. That lowers a level line
 * still asserted, counts the delivery and timestamps the handler. A read then
 * returns what the write found:
 *   IRQ_ACK_PENDING          the line had an interrupt pending: a delivery;
 *   IRQ_ACK_NOTHING_PENDING  nothing was pending: a spurious interrupt;
 *   IRQ_ACK_NO_DEVICE        the GSI is not a scripted line.
 *
 * WAKE_MARK_PORT (16 bits, write-only; written by a woken guest task, read by
 * vmm's devices/WakeMarkPort.h): the GSI whose interrupt woke the task, the
 * moment it runs again, so vmm times injection to task as well as to handler.
 * The bundled kernel opens this port, and no other, to ring 3. */
#pragma once

#define IRQ_ACK_PORT 0x520
#define IRQ_ACK_NOTHING_PENDING 0
#define IRQ_ACK_PENDING 1
#define IRQ_ACK_NO_DEVICE 0xFFFF

#define WAKE_MARK_PORT 0x522
