/* switch.S - kernel stack switch.
 *
 * struct task *switch_to(struct task *prev, struct task *next)
 *
 * Saves the callee-saved registers on the current kernel stack, stores the
 * stack pointer in prev->ksp (offset 0), loads next->ksp and pops the next
 * task's callee-saved registers. The final ret returns into wherever the
 * next task called switch_to (schedule()), or into ret_from_fork for a new
 * task. It returns prev, still in rdi, to the task that resumes: that one
 * must finish the switch (release the run queue, clear prev's on_cpu), and
 * its own prev variable names itself, not the task it came from. The
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
    movq (%rsi), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    movq %rdi, %rax
    ret

/* A new task's first return from switch_to: finish the switch like any
 * task would after its schedule(), then leave through the trap return
 * path into the trapframe sched.c prepared. */
    .globl ret_from_fork
ret_from_fork:
    movq %rax, %rdi
    call schedule_tail
    jmp ret_from_trap

    .section .note.GNU-stack, "", @progbits
