/* A student's kernel for the lab that examples/scenarios/lab/grade.json
 * grades: a Multiboot kernel, 32-bit, that says hello on COM1,
 * computes 1 + 2 + ... + 100, prints it, and ends the run through the
 * debug-exit port (0xf4) with status 0. The grader expects both lines and
 * the status; a kernel that gets the sum wrong, or never ends, fails with
 * the step that did not happen. */
    .text
    .code32
    .balign 4
    .long 0x1BADB002                 /* Multiboot magic */
    .long 0x00000003                 /* page-align modules, memory info */
    .long -(0x1BADB002 + 0x00000003) /* checksum */

    .global _start
_start:
    mov $stack_top, %esp             /* Multiboot gives no stack */
    mov $hello, %esi
    call puts
    xor %eax, %eax                   /* the sum */
    mov $1, %ecx
1:  add %ecx, %eax
    inc %ecx
    cmp $100, %ecx
    jbe 1b
    mov $sum_text, %esi
    call puts_keep
    call putnum
    mov $'\n', %al
    call putc
    xor %al, %al
    mov $0xf4, %dx                   /* debug-exit: status 0 */
    out %al, %dx
2:  hlt
    jmp 2b

/* putc: %al to COM1. */
putc:
    push %edx
    mov $0x3f8, %dx
    out %al, %dx
    pop %edx
    ret

/* puts: the NUL-terminated string at %esi. puts_keep: the same, keeping %eax. */
puts_keep:
    push %eax
    call puts
    pop %eax
    ret
puts:
    lodsb
    test %al, %al
    jz 1f
    call putc
    jmp puts
1:  ret

/* putnum: %eax in decimal (it has at most 10 digits). */
putnum:
    mov $10, %ebx
    xor %ecx, %ecx
1:  xor %edx, %edx
    div %ebx
    push %edx
    inc %ecx
    test %eax, %eax
    jnz 1b
2:  pop %eax
    add $'0', %al
    call putc
    loop 2b
    ret

    .section .rodata
hello:    .asciz "lab: hello from the student's kernel\n"
sum_text: .asciz "lab: sum(1..100)="

    .bss
    .balign 16
    .skip 4096
stack_top:
