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
 *   PIT_RANDOM  the 8259 set up with IRQ0 unmasked, interrupts off and never
 *               an EOI, then 60,000 writes of random bytes to ports 0x40-0x43
 *               and 0x61 (which leave channel 0 at any divisor, tiny ones
 *               too); then debug-exit 0. With PIT_CALM the same 60,000
 *               accesses are well behaved: channel 0 in mode 2 at 1 kHz, then
 *               counter-latch commands to 0x43 and reads of 0x40 and 0x61.
 *   DEVICE_GARBAGE  every byte value to every PIT and UART register, in an
 *               order an LCG picks, 64 Ki writes with a read after each, then
 *               "ok\n" polled out on COM1 and debug-exit 0.
 *   TRIPLE_FAULT  an IDT of limit 0, then ud2: the #UD cannot be delivered, nor
 *               the #GP that replaces it, nor the #DF: the CPU shuts down.
 *   EXC_STORM   handlers for #DE, #UD and #GP that return past the faulting
 *               instruction to a loop that takes the three again, for ever;
 *               the #UD handler takes a nested #DE first. Every 4096th
 *               exception writes the POST-code port 0x80, so the host can
 *               count them. With EXC_LIMIT=N, debug-exit 0x33 at the Nth.
 *   SERIAL_FLOOD  SERIAL_PAGES pages of 4 KiB to COM1, from ring 3 with IOPL 3
 *               (ring 0 runs in KVM's emulator on kvm_pvm hosts, ring 3
 *               natively), as a 16550A driver does: wait for LSR.THRE, then
 *               16 bytes (the FIFO) with one rep outsb. KVM exits once per byte
 *               of an outsb all the same (only ins is batched). The bytes are
 *               consecutive 32-bit little-endian counters from 0; then
 *               debug-exit 0.
 *   IRQ_STORM   GSI 16 on IOAPIC pin 16 (level, or edge with IRQ_EDGE) to
 *               vector 0x30, whose handler acknowledges at port 0x520, counts
 *               the answers that say "delivered" and EOIs; GSI 17 (edge) to
 *               vector 0x31, whose handler prints "delivered=N\n" and exits
 *               with 0. Prints "ready\n" once it halts with interrupts on.
 *   DEVICE_FIGHT  CPUS processors (the BSP starts the APs by INIT-SIPI-SIPI)
 *               write and read the PIT, COM1 and the ack port at random at
 *               once, FIGHT_ITERS times each. Then the BSP programs both
 *               devices and checks they read back what it wrote (a failed
 *               check exits with 10 + its number), prints "fight over\n", and
 *               each CPU in turn prints "vcpuN ok\n"; then "fight ok\n" and
 *               debug-exit 0.
 *   INT3_FWAIT  not hostile, but what Linux does in ring 0 that this
 *               project's hosts cannot emulate: a #BP handler that counts,
 *               then 16 int3 and 16 fwait in ring 0 (the alternatives
 *               self-test, fpu__drop); "breakpoints ok\n" and debug-exit 0 if
 *               the handler ran 16 times and every int3 returned past itself,
 *               else "breakpoints wrong\n" and debug-exit 1.
 *   INT_N       not hostile either: `int n` in ring 0, as interrupt and
 *               exception tests do, for vectors 0x0e (an exception vector:
 *               a software int pushes no error code), 0x20, 0x41, 0x80 and
 *               0xff, each through an interrupt gate of its own whose
 *               handler counts and records the return address it finds;
 *               "software interrupts ok\n" and debug-exit 0 if each handler
 *               ran once and saw the address after its `int`, else
 *               "software interrupts wrong\n" and debug-exit 1.
 *   CPUID_PROBE  prints what CPUID says in ring 0, one "cpuid LEAF.SUB REG
 *               VALUE" line each (hex) for leaf 1 ECX and EDX, leaf 7.0 EBX
 *               and ECX, and leaf 0x40000000 EBX, ECX, EDX (the hypervisor
 *               signature), then debug-exit 0.
 *
 * Each prints a line on COM1 first, "<name>\n", so the test knows it ran. */

    .text
    .code32
    .balign 4
    .long 0x1BADB002
    .long 0x00000003
    .long -(0x1BADB002 + 0x00000003)

/* The master 8259 initialised (ICW1..ICW4, vectors 0x20) with IRQ0 unmasked. */
#define PIC_IRQ0_ONLY                                  \
    mov $0x11, %al; out %al, $0x20;                    \
    mov $0x20, %al; out %al, $0x21;                    \
    mov $0x04, %al; out %al, $0x21;                    \
    mov $0x01, %al; out %al, $0x21;                    \
    mov $0xfe, %al; out %al, $0x21

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
    PIC_IRQ0_ONLY
    cli
    mov $0x34, %al             /* channel 0, lobyte/hibyte, mode 2 */
    out %al, $0x43
    mov $1, %al
    out %al, $0x40
    xor %al, %al
    out %al, $0x40
1:  jmp 1b

#elif defined(PIT_RANDOM)
    PIC_IRQ0_ONLY
    cli
#if defined(PIT_CALM)
    mov $0x34, %al             /* channel 0, lobyte/hibyte, mode 2, 1193: 1 kHz */
    out %al, $0x43
    mov $(1193 & 0xff), %al
    out %al, $0x40
    mov $(1193 >> 8), %al
    out %al, $0x40
    mov $20000, %ecx           /* three accesses each */
1:  xor %al, %al               /* latch counter 0 */
    out %al, $0x43
    in $0x40, %al
    in $0x61, %al
    loop 1b
#else
    mov $60000, %ecx
1:  imul $1103515245, %ebx
    add $12345, %ebx
    mov %ebx, %eax
    shr $16, %eax
    mov %eax, %edx
    and $3, %edx               /* 0x40-0x43, or 0x61 one time in eight */
    add $0x40, %edx
    test $0x700, %eax
    jnz 2f
    mov $0x61, %edx
2:  mov %bl, %al
    shr $8, %eax               /* a byte the LCG's low bits do not repeat */
    xor %bh, %al
    outb %al, %dx
    loop 1b
#endif
    xor %al, %al
    out %al, $0xf4
3:  hlt
    jmp 3b

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

#elif defined(TRIPLE_FAULT)
    lidt null_idt
    ud2
1:  jmp 1b

#elif defined(EXC_STORM)
    call setup_gdt
    mov $0, %eax
    mov $de_handler, %edx
    call set_gate
    mov $6, %eax
    mov $ud_handler, %edx
    call set_gate
    mov $13, %eax
    mov $gp_handler, %edx
    call set_gate
    lidt idt_ptr
storm:
    xor %ecx, %ecx
    xor %edx, %edx
    mov $1, %eax
    div %ecx                   /* #DE; two bytes, as each below */
    ud2                        /* #UD */
    mov $0x1234, %ax
    mov %ax, %ds               /* #GP: beyond the GDT's limit */
    jmp storm

/* KVM's instruction emulator, which runs ring 0 on kvm_pvm hosts, implements
 * iret in real mode only: handlers return by dropping the frame and jumping
 * past the faulting instruction (interrupts stay off throughout). */
#define RETURN_PAST_FAULT \
    addl $2, (%esp);      \
    popl resume;          \
    add $8, %esp;         \
    jmp *resume

de_handler:
    pusha
    call counted
    popa
    RETURN_PAST_FAULT
ud_handler:
    pusha
    call counted
    xor %ecx, %ecx             /* a fault inside the handler */
    xor %edx, %edx
    mov $1, %eax
    div %ecx
    popa
    RETURN_PAST_FAULT
gp_handler:
    add $4, %esp               /* the error code */
    pusha
    call counted
    popa
    RETURN_PAST_FAULT
counted:
    incl exceptions
    testl $0xfff, exceptions
    jnz 1f
    out %al, $0x80
1:
#ifdef EXC_LIMIT
    cmpl $EXC_LIMIT, exceptions
    jb 2f
    mov $0x33, %al
    out %al, $0xf4
3:  hlt
    jmp 3b
#endif
2:  ret

#elif defined(SERIAL_FLOOD)
    mov $0x3fa, %dx            /* FCR: the 16-byte FIFOs on */
    mov $0x07, %al
    out %al, %dx
    call setup_gdt
    /* To ring 3 by sysexit: KVM's emulator has no protected-mode iret (see
     * EXC_STORM). sysexit takes CS 0x1b and SS 0x23 from SYSENTER_CS 0x08 and
     * keeps EFLAGS, where popf has set IOPL 3 (interrupts stay off). */
    mov $0x174, %ecx           /* IA32_SYSENTER_CS */
    mov $0x08, %eax
    xor %edx, %edx
    wrmsr
    pushl $0x3002
    popf
    mov $ring3, %edx
    mov $0x80000, %ecx
    sysexit
ring3:
    mov $0x23, %ax
    mov %ax, %ds
    mov %ax, %es
    cld
    xor %ebx, %ebx             /* the next counter */
    mov $SERIAL_PAGES, %ebp
1:  mov $0x200000, %edi
    mov $1024, %ecx
2:  mov %ebx, %eax
    stosl
    inc %ebx
    loop 2b
    mov $0x200000, %esi
    mov $256, %edi             /* 16-byte chunks */
3:  mov $0x3fd, %dx            /* LSR.THRE: the FIFO is empty, 16 bytes may follow */
4:  inb %dx, %al
    test $0x20, %al
    jz 4b
    mov $0x3f8, %dx
    mov $16, %ecx
    rep outsb
    dec %edi
    jnz 3b
    dec %ebp
    jnz 1b
    jmp exit0

#elif defined(IRQ_STORM)
    call setup_gdt
    mov $0, %eax               /* every vector to an iret (the LAPIC's spurious 0xff) */
1:  mov $ignore_interrupt, %edx
    push %eax
    call set_gate
    pop %eax
    inc %eax
    cmp $256, %eax
    jb 1b
    mov $0x30, %eax
    mov $storm_handler, %edx
    call set_gate
    mov $0x31, %eax
    mov $done_handler, %edx
    call set_gate
    lidt idt_ptr
    mov $0xff, %al             /* both 8259s masked: only the IOAPIC speaks */
    out %al, $0x21
    out %al, $0xa1
    movl $0x1ff, 0xfee000f0    /* LAPIC on, spurious vector 0xff */
#ifdef IRQ_EDGE
    mov $0x30, %eax            /* pin 16: fixed, physical, active high, edge, to APIC 0 */
#else
    mov $0x8030, %eax          /* pin 16: fixed, physical, active high, level, to APIC 0 */
#endif
    mov $16, %ecx
    call ioapic_route
    mov $0x31, %eax            /* pin 17: edge */
    mov $17, %ecx
    call ioapic_route
    PUTS(ready)
    sti
1:  hlt
    jmp 1b

ioapic_route:                  /* pin %ecx gets low word %eax, destination APIC 0 */
    lea 0x10(,%ecx,2), %edx
    mov %edx, 0xfec00000
    mov %eax, 0xfec00010
    inc %edx
    mov %edx, 0xfec00000
    movl $0, 0xfec00010
    ret

/* No iret (see EXC_STORM): drop the frame, and sti, whose one-instruction
 * shadow lets the jump finish before the next interrupt comes. */
#define RETURN_FROM_INTERRUPT \
    popl resume;              \
    add $8, %esp;             \
    sti;                      \
    jmp *resume

storm_handler:
    push %eax
    push %edx
    mov $0x520, %dx
    mov $16, %ax
    outw %ax, %dx              /* acknowledge at the device */
    inw %dx, %ax
    cmp $1, %ax                /* 1: it had one pending; 0: spurious */
    jne 1f
    incl delivered
1:  movl $0, 0xfee000b0        /* EOI */
    pop %edx
    pop %eax
    RETURN_FROM_INTERRUPT

done_handler:
    PUTS(delivered_label)
    mov delivered, %eax
    mov $decimal_end, %edi
    mov $10, %ecx
1:  xor %edx, %edx
    div %ecx
    add $'0', %dl
    dec %edi
    mov %dl, (%edi)
    test %eax, %eax
    jnz 1b
    mov %edi, %esi
    call puts
    jmp exit0

ignore_interrupt:
    RETURN_FROM_INTERRUPT

#elif defined(CPUID_PROBE)
/* One "cpuid ..." line: the label, then the value in %edi (puts takes %eax). */
#define SHOW(label, value) \
    mov value, %edi;       \
    PUTS(label);           \
    call puthex
    mov $1, %eax
    xor %ecx, %ecx
    cpuid
    mov %edx, %ebp
    SHOW(cpuid_1_ecx, %ecx)
    SHOW(cpuid_1_edx, %ebp)
    mov $7, %eax
    xor %ecx, %ecx
    cpuid
    mov %ecx, %ebp
    SHOW(cpuid_7_ebx, %ebx)
    SHOW(cpuid_7_ecx, %ebp)
    mov $0x40000000, %eax
    xor %ecx, %ecx
    cpuid
    mov %ecx, %ebp
    mov %edx, hypervisor_edx
    SHOW(cpuid_hv_ebx, %ebx)
    SHOW(cpuid_hv_ecx, %ebp)
    SHOW(cpuid_hv_edx, hypervisor_edx)
    mov $0, %al
    out %al, $0xf4
1:  hlt
    jmp 1b

/* %edi as 8 hex digits and a newline on COM1. */
puthex:
    mov $hex_digits + 7, %ebx
    mov $8, %ecx
1:  mov %edi, %edx
    and $0xf, %edx
    movb hex_alphabet(%edx), %dl
    movb %dl, (%ebx)
    dec %ebx
    shr $4, %edi
    loop 1b
    PUTS(hex_digits)
    ret

#elif defined(INT3_FWAIT)
    call setup_gdt
    mov $3, %eax
    mov $bp_handler, %edx
    call set_gate
    lidt idt_ptr
    mov $16, %ecx
1:  int3                       /* the handler returns to the next instruction */
    incl int3_returned
    fwait
    loop 1b
    cmpl $16, exceptions
    jne 2f
    cmpl $16, int3_returned
    jne 2f
    PUTS(breakpoints_ok)
    mov $0, %al
    out %al, $0xf4
2:  PUTS(breakpoints_wrong)
    mov $1, %al
    out %al, $0xf4
3:  hlt
    jmp 3b

/* #BP is a trap: the frame's EIP is already past the int3. No iret (see
 * EXC_STORM): drop the frame and jump there. */
bp_handler:
    incl exceptions
    popl resume
    add $8, %esp
    jmp *resume

#elif defined(INT_N)
#define INT_N_VECTORS(X) X(0x0e) X(0x20) X(0x41) X(0x80) X(0xff)
    call setup_gdt
#define SET_INT_GATE(v) mov $v, %eax; mov $int_handler_##v, %edx; call set_gate;
    INT_N_VECTORS(SET_INT_GATE)
    lidt idt_ptr
    /* A handler that found an error code on its stack would see the CS
     * selector where the return address belongs, and fail the check. */
#define TAKE_INT(v) int $v; int_returned_##v: incl ints_returned;
    INT_N_VECTORS(TAKE_INT)
#define CHECK_INT(v) cmpl $1, int_count_##v; jne 2f; cmpl $int_returned_##v, int_return_##v; jne 2f;
    INT_N_VECTORS(CHECK_INT)
    cmpl $5, ints_returned
    jne 2f
    PUTS(software_ints_ok)
    mov $0, %al
    out %al, $0xf4
2:  PUTS(software_ints_wrong)
    mov $1, %al
    out %al, $0xf4
3:  hlt
    jmp 3b

/* Each records the frame's EIP and resumes there without iret (see
 * EXC_STORM), dropping CS and EFLAGS. */
#define INT_HANDLER(v) int_handler_##v: incl int_count_##v; popl int_return_##v; add $8, %esp; jmp *int_return_##v;
    INT_N_VECTORS(INT_HANDLER)

#elif defined(DEVICE_FIGHT)
    call setup_gdt
    movl $0x1ff, 0xfee000f0    /* LAPIC on, for the ICR */
    mov $trampoline, %esi      /* the APs start in real mode at 0x8000 (SIPI vector 8) */
    mov $0x8000, %edi
    mov $(trampoline_end - trampoline), %ecx
    cld
    rep movsb
    movl $0, 0xfee00310
    movl $0x000c4500, 0xfee00300   /* INIT to all but self */
    movl $0x000c4608, 0xfee00300   /* SIPI, vector 8, twice as the MP spec says */
    movl $0x000c4608, 0xfee00300
    jmp fight_start

    .code16
trampoline:
    cli
    mov %cs, %ax
    mov %ax, %ds
    lgdtl (tramp_gdt_ptr - trampoline)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $ap_entry
tramp_gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt
trampoline_end:
    .code32

ap_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov 0xfee00020, %eax       /* a stack per APIC id */
    shr $24, %eax
    shl $12, %eax
    add $0x20000, %eax
    mov %eax, %esp

fight_start:
    mov $1, %eax
    lock xadd %eax, arrived    /* my index: 0 for the first to arrive */
    mov %eax, %ebp
    mov $1, %ebx               /* an LCG per CPU */
    add %ebp, %ebx
    imul $0x9e3779b9, %ebx
    mov $FIGHT_ITERS, %edi
1:  imul $1103515245, %ebx
    add $12345, %ebx
    mov %ebx, %eax
    shr $16, %eax
    mov %eax, %ecx
    shr $8, %ecx
    and $3, %ecx
    jz 2f
    cmp $1, %ecx
    je 3f
    cmp $2, %ecx
    je 4f
    mov %al, %cl               /* PIT: a latch or read-back command, then two reads */
    and $0xc0, %cl
    mov $0x43, %dx
    mov %cl, %al
    out %al, %dx
    mov %ebx, %edx
    shr $24, %edx
    and $3, %edx
    cmp $3, %edx
    jne 5f
    xor %edx, %edx
5:  add $0x40, %edx
    in %dx, %al
    in %dx, %al
    jmp 6f
2:  mov %eax, %edx             /* PIT: any of its four ports */
    and $3, %edx
    add $0x40, %edx
    jmp 7f
3:  mov %eax, %edx             /* COM1: any of its eight registers */
    and $7, %edx
    add $0x3f8, %edx
    jmp 7f
4:  mov $0x520, %dx            /* the ack port: a GSI, then the answer */
    mov %bx, %ax
    and $0x1f, %ax
    out %ax, %dx
    in %dx, %ax
    jmp 6f
7:  mov %bl, %al
    out %al, %dx
    in %dx, %al
6:  dec %edi
    jnz 1b

    lock incl fought           /* wait for everyone */
8:  cmpl $CPUS, fought
    jne 8b
    test %ebp, %ebp
    jnz wait_turn

    /* The BSP alone: both devices to a known state, and read back. */
#define OUTB(port, value) mov $port, %dx; mov $value, %al; out %al, %dx
#define CHECK(port, mask, value, code) mov $port, %dx; in %dx, %al; and $mask, %al; cmp $value, %al; mov $code, %cl; jne check_failed
    OUTB(0x3fb, 0x83)          /* DLAB: divisor 1 */
    OUTB(0x3f8, 0x01)
    OUTB(0x3f9, 0x00)
    OUTB(0x3fb, 0x03)          /* 8N1 */
    OUTB(0x3f9, 0x00)          /* IER off */
    OUTB(0x3fa, 0x07)          /* FIFOs on and cleared */
    OUTB(0x3fc, 0x03)          /* DTR, RTS; loopback off */
    OUTB(0x3ff, 0x5a)
    CHECK(0x3fb, 0xff, 0x03, 10)
    CHECK(0x3f9, 0xff, 0x00, 11)
    CHECK(0x3fc, 0xff, 0x03, 12)
    CHECK(0x3ff, 0xff, 0x5a, 13)
    CHECK(0x3fa, 0xff, 0xc1, 14)   /* FIFOs on, nothing pending */
    OUTB(0x3fb, 0x83)
    CHECK(0x3f8, 0xff, 0x01, 15)
    CHECK(0x3f9, 0xff, 0x00, 16)
    OUTB(0x3fb, 0x03)
    OUTB(0x43, 0x34)           /* counter 0: lobyte/hibyte, mode 2 */
    OUTB(0x40, 0x00)
    OUTB(0x40, 0x00)
    OUTB(0x43, 0xe2)           /* read-back: counter 0's status */
    CHECK(0x40, 0x3f, 0x34, 17)
    OUTB(0x43, 0xb0)           /* counter 2: lobyte/hibyte, mode 0 */
    OUTB(0x42, 0x10)
    OUTB(0x42, 0x27)
    OUTB(0x43, 0xe8)           /* read-back: counter 2's status */
    CHECK(0x42, 0x3f, 0x30, 18)
    PUTS(fight_over)
    movl $1, fight_checked

wait_turn:
    cmpl $0, fight_checked
    je wait_turn
    cmp turn, %ebp
    jne wait_turn
    mov $vcpu_line, %esi       /* "vcpuN ok\n" with N the index */
    mov %ebp, %eax
    add $'0', %al
    mov %al, vcpu_digit
    call puts
    lock incl turn
    test %ebp, %ebp
    jnz 9f
1:  cmpl $CPUS, turn
    jne 1b
    PUTS(fight_ok)
    jmp exit0
9:  cli
    hlt
    jmp 9b

check_failed:
    mov $0xf4, %dx
    mov %cl, %al
    out %al, %dx
1:  hlt
    jmp 1b
#else
#error "build with one of CLI_HLT, PORT_STORM, MMIO_STORM, PIT_FLOOD, DEVICE_GARBAGE, TRIPLE_FAULT, EXC_STORM, SERIAL_FLOOD, IRQ_STORM, DEVICE_FIGHT"
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

#if defined(EXC_STORM) || defined(SERIAL_FLOOD) || defined(IRQ_STORM) || defined(DEVICE_FIGHT) || defined(INT3_FWAIT) || \
    defined(INT_N)
/* Our own GDT (Multiboot leaves none that the CPU could reload from): flat
 * ring-0 code 0x08 and data 0x10, flat ring-3 code 0x1b and data 0x23. */
setup_gdt:
    lgdt gdt_ptr
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    ret

/* IDT entry %eax: an interrupt gate (ring 0, interrupts off) to %edx. */
set_gate:
    lea idt(,%eax,8), %eax
    mov %edx, %ecx
    and $0xffff, %ecx
    or $0x00080000, %ecx
    mov %ecx, (%eax)
    and $0xffff0000, %edx
    or $0x8e00, %edx
    mov %edx, 4(%eax)
    ret
#endif

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
#elif defined(PIT_CALM)
    .asciz "pit_calm\n"
#elif defined(PIT_RANDOM)
    .asciz "pit_random\n"
#elif defined(DEVICE_GARBAGE)
    .asciz "device_garbage\n"
#elif defined(TRIPLE_FAULT)
    .asciz "triple_fault\n"
#elif defined(EXC_STORM)
    .asciz "exc_storm\n"
#elif defined(SERIAL_FLOOD)
    .asciz "serial_flood\n"
#elif defined(IRQ_STORM)
    .asciz "irq_storm\n"
#elif defined(INT3_FWAIT)
    .asciz "int3_fwait\n"
#elif defined(INT_N)
    .asciz "int_n\n"
#elif defined(CPUID_PROBE)
    .asciz "cpuid_probe\n"
#else
    .asciz "device_fight\n"
#endif
ok:
    .asciz "ok\n"
cpuid_1_ecx:
    .asciz "cpuid 1.0 ecx "
cpuid_1_edx:
    .asciz "cpuid 1.0 edx "
cpuid_7_ebx:
    .asciz "cpuid 7.0 ebx "
cpuid_7_ecx:
    .asciz "cpuid 7.0 ecx "
cpuid_hv_ebx:
    .asciz "cpuid 40000000.0 ebx "
cpuid_hv_ecx:
    .asciz "cpuid 40000000.0 ecx "
cpuid_hv_edx:
    .asciz "cpuid 40000000.0 edx "
hex_alphabet:
    .ascii "0123456789abcdef"
hex_digits:
    .asciz "00000000\n"
breakpoints_ok:
    .asciz "breakpoints ok\n"
breakpoints_wrong:
    .asciz "breakpoints wrong\n"
software_ints_ok:
    .asciz "software interrupts ok\n"
software_ints_wrong:
    .asciz "software interrupts wrong\n"
ready:
    .asciz "ready\n"
delivered_label:
    .asciz "delivered="
decimal:
    .ascii "0000000000"
decimal_end:
    .asciz "\n"
fight_over:
    .asciz "fight over\n"
fight_ok:
    .asciz "fight ok\n"
vcpu_line:
    .ascii "vcpu"
vcpu_digit:
    .asciz "0 ok\n"

    .balign 8
null_idt:
    .word 0
    .long 0
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00cffa000000ffff
    .quad 0x00cff2000000ffff
gdt_end:
    .balign 8
    .word 0
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt
    .balign 8
    .word 0
idt_ptr:
    .word 256 * 8 - 1
    .long idt
    .balign 4
exceptions:
    .long 0
resume:
    .long 0
int3_returned:
    .long 0
#if defined(INT_N)
#define INT_DATA(v) int_count_##v: .long 0; int_return_##v: .long 0;
    INT_N_VECTORS(INT_DATA)
ints_returned:
    .long 0
#endif
hypervisor_edx:
    .long 0
delivered:
    .long 0
arrived:
    .long 0
fought:
    .long 0
turn:
    .long 0
fight_checked:
    .long 0
    .balign 8
idt:
    .fill 256, 8, 0

    .section .note.GNU-stack, "", @progbits
