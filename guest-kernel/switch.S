/* switch.S - kernel stack switch.
 *
 * void switch_to(uint64_t *prev_ksp, uint64_t next_ksp)
 *
 * Saves the callee-saved registers on the current kernel stack, stores the
 * stack pointer in *prev_ksp, loads next_ksp and pops the next task's
 * callee-saved registers. The final ret returns into wherever the next task
 * called switch_to (schedule()), or into ret_from_trap for a new task. The
 * caller-saved registers need no saving: the C caller assumes them lost. */

    .text
    .code64
    .globl switch_to
switch_to:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .section .note.GNU-stack, "", @progbits
