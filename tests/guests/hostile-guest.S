/* Hostile guests for tests/integration/HostileGuestTest.cpp: 32-bit code
 * entered by Multiboot (protected mode, paging off, no stack, no IDT), one
 * misbehaviour per build (-D):
 *
 *   CLI_HLT     cli; hlt for ever: nothing can wake the vCPU, only vmm's
 *               --timeout or a signal ends the run.
 *   PORT_STORM  an out and an in on every port from 0 to 0xFFFF with
 *               pseudo-random bytes (all widths), except debug-exit (0xF4-0xF7)
 *               and the i8042 command port (0x64, whose 0xFE resets); then
 *               debug-exit with 0.
 *   MMIO_STORM  reads and writes every 64 KiB from the end of RAM to 4 GiB
 *               (unmapped holes, the LAPIC and IOAPIC pages, the scratch
 *               register), and at the last bytes of RAM; then debug-exit 0.
 *   PIT_FLOOD   PIT channel 0 at its fastest rate (mode 2, divisor 1: 1.19 MHz)
 *               with IRQ0 unmasked on the 8259 but interrupts off and never an
 *               EOI, then a spin loop for ever.
 *   DEVICE_GARBAGE  every byte value to every PIT and UART register, in an
 *               order an LCG picks, 64 Ki writes with a read after each, then
 *               "ok\n" polled out on COM1 and debug-exit 0.
 *
 * Each prints a line on COM1 first, "<name>\n", so the test knows it ran. */

    .text
    .code32
    .balign 4
    .long 0x1BADB002
    .long 0x00000003
    .long -(0x1BADB002 + 0x00000003)

/* Prints the string at %esi (NUL-terminated) on COM1, polling THRE. */
#define PUTS(label)                \
    mov $label, %esi;              \
    call puts

    .global _start
_start:
    mov $0x9000, %esp          /* below 1 MiB, in RAM */
    PUTS(name)
    mov $0x12345678, %ebx      /* LCG state */

#if defined(CLI_HLT)
    cli
1:  hlt
    jmp 1b

#elif defined(PORT_STORM)
    xor %ecx, %ecx             /* port */
1:  cmp $0xf4, %cx
    jb 2f
    cmp $0xf7, %cx
    jbe 3f
2:  cmp $0x64, %cx
    je 3f
    imul $1103515245, %ebx
    add $12345, %ebx
    mov %ecx, %edx
    mov %ebx, %eax
    test $1, %ecx
    jnz 4f
    outb %al, %dx
    inb %dx, %al
    jmp 3f
4:  test $2, %ecx
    jnz 5f
    outw %ax, %dx
    inw %dx, %ax
    jmp 3f
5:  outl %eax, %dx
    inl %dx, %eax
3:  inc %ecx
    cmp $0x10000, %ecx
    jb 1b
    jmp exit0

#elif defined(MMIO_STORM)
    /* The last bytes of RAM (the test gives the VM 16 MiB). */
    mov $0xfffffc, %edi
    movl $0xdeadbeef, (%edi)
    mov (%edi), %eax
    mov $0x1000000, %edi       /* from the end of RAM */
1:  imul $1103515245, %ebx
    add $12345, %ebx
    mov %ebx, (%edi)
    mov (%edi), %eax
    movb %bl, 1(%edi)
    add $0x10000, %edi
    jnz 1b                     /* until it wraps at 4 GiB */
    jmp exit0

#elif defined(PIT_FLOOD)
    mov $0x11, %al             /* 8259: ICW1..ICW4, vectors 0x20, IRQ0 unmasked */
    out %al, $0x20
    mov $0x20, %al
    out %al, $0x21
    mov $0x04, %al
    out %al, $0x21
    mov $0x01, %al
    out %al, $0x21
    mov $0xfe, %al
    out %al, $0x21
    cli
    mov $0x34, %al             /* channel 0, lobyte/hibyte, mode 2 */
    out %al, $0x43
    mov $1, %al
    out %al, $0x40
    xor %al, %al
    out %al, $0x40
1:  jmp 1b

#elif defined(DEVICE_GARBAGE)
    mov $0x10000, %ecx
1:  imul $1103515245, %ebx
    add $12345, %ebx
    mov %ebx, %eax
    shr $16, %eax
    mov %eax, %edx
    and $7, %edx
    test $0x800, %eax          /* the UART's eight registers, or the PIT's four and port 0x61 */
    jz 2f
    add $0x3f8, %edx
    jmp 3f
2:  and $3, %edx
    add $0x40, %edx
    test $0x1000, %eax
    jz 3f
    mov $0x61, %edx
3:  mov %bl, %al
    outb %al, %dx
    inb %dx, %al
    loop 1b
    mov $0x3fb, %dx            /* the UART back to 8N1, DLAB off, so "ok" gets out */
    mov $0x03, %al
    outb %al, %dx
    mov $0x3fc, %dx            /* MCR: loopback off */
    xor %al, %al
    outb %al, %dx
    mov $0x3f9, %dx            /* IER off */
    outb %al, %dx
    PUTS(ok)
    jmp exit0
#else
#error "build with one of CLI_HLT, PORT_STORM, MMIO_STORM, PIT_FLOOD, DEVICE_GARBAGE"
#endif

exit0:
    mov $0xf4, %dx
    xor %al, %al
    out %al, %dx
1:  hlt
    jmp 1b

/* COM1 output, polling LSR.THRE (bounded: a UART that never says ready must
 * not hang the guest here). */
puts:
1:  lodsb
    test %al, %al
    jz 3f
    mov %al, %ah
    mov $0x3fd, %dx
    mov $100000, %ecx
2:  inb %dx, %al
    test $0x20, %al
    jnz 4f
    loop 2b
4:  mov $0x3f8, %dx
    mov %ah, %al
    outb %al, %dx
    jmp 1b
3:  ret

    /* In .text: one segment, at 1 MiB. */
name:
#if defined(CLI_HLT)
    .asciz "cli_hlt\n"
#elif defined(PORT_STORM)
    .asciz "port_storm\n"
#elif defined(MMIO_STORM)
    .asciz "mmio_storm\n"
#elif defined(PIT_FLOOD)
    .asciz "pit_flood\n"
#else
    .asciz "device_garbage\n"
#endif
ok:
    .asciz "ok\n"

    .section .note.GNU-stack, "", @progbits
