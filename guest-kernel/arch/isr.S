/* isr.S - the 256 interrupt entry stubs and the common save/restore path.
 *
 * Every vector enters through a stub that makes the frame uniform (a dummy
 * error code where the CPU pushes none, then the vector number) and jumps to
 * isr_common, which saves all general-purpose registers (SAVE_ALL), calls
 * trap(frame) and restores them. When trap() switches tasks, the restore
 * below runs on the next task's kernel stack and irets into that task. */

    .text
    .code64

    .pushsection .rodata
    .p2align 3
    .globl isr_table
isr_table: /* 256 stub addresses, appended by each VEC_STUB below */
    .popsection

.macro VEC_STUB
    .p2align 4
1:
    /* Vectors for which the CPU pushes an error code itself. */
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp isr_common
    .pushsection .rodata
    .quad 1b
    .popsection
.endm

    .set vec, 0
    .rept 256
    VEC_STUB
    .set vec, vec + 1
    .endr

/* bench=pit points vector 0x20 (IRQ0) here instead of its stub: the TSC
 * is read before anything else, so the interval between two ticks does not
 * include the register saving and dispatch. Then the normal path. */
    .p2align 4
    .globl irq0_tsc_entry
irq0_tsc_entry:
    pushq %rax
    pushq %rdx
    rdtsc
    movl %eax, irq0_tsc(%rip)
    movl %edx, irq0_tsc+4(%rip)
    popq %rdx
    popq %rax
    pushq $0
    pushq $0x20
    jmp isr_common

/* bench=irq points the line's vector here: the GSI goes to port 0x520 (the
 * host's "acknowledged" timestamp) before anything else. Then the normal
 * path; irq.c then skips its own write. */
    .p2align 4
    .globl irq_bench_entry
irq_bench_entry:
    pushq %rax
    pushq %rdx
    movzwl irq_bench_gsi(%rip), %eax
    movl $0x520, %edx
    outw %ax, %dx
    popq %rdx
    popq %rax
    pushq $0
    pushq irq_bench_vector(%rip)
    jmp isr_common

/* The syscall instruction's entry (IA32_LSTAR; kernel/proc.c arms it for
 * programs). The CPU is in ring 0 with CS and SS from IA32_STAR, RCX = the
 * user's RIP, R11 = its RFLAGS and IF cleared by IA32_FMASK, but RSP still
 * the user's: swapgs reaches this CPU's kernel stack (struct cpu's
 * syscall area), and swaps back at once, since the kernel itself never
 * uses GS. The frame built is the one an interrupt from ring 3 leaves,
 * so the way back is the same iretq as every other (which also restores
 * RCX and R11 to what syscall left there, as Linux's return does). */
    .p2align 4
    .globl syscall_entry
syscall_entry:
    swapgs
    movq %rsp, %gs:8
    movq %gs:0, %rsp
    pushq $0x1b          /* SS: USER_DS */
    pushq %gs:8          /* RSP */
    swapgs
    pushq %r11           /* RFLAGS */
    pushq $0x23          /* CS: USER_CS */
    pushq %rcx           /* RIP */
    pushq $0             /* error code */
    pushq $0x100         /* SYSCALL64_VECTOR */
    jmp isr_common

    .p2align 4
isr_common:
    /* A task may leave DF set; C code assumes it clear. */
    cld
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    call trap

    /* Also where a new task starts: sched.c builds its kernel stack so that
     * switch_to "returns" here with a prepared trapframe above it. */
    .globl ret_from_trap
ret_from_trap:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp /* vector and error code */
    iretq

    .section .note.GNU-stack, "", @progbits
