/* riscv64 boot entry: OpenSBI jumps here in S-mode with a0 = hartid, a1 = dtb; secondaries via HSM. */
#include "arch/riscv64/trapframe.h"

#define BOOT_STACK_SIZE 16384

	.section .text.entry, "ax"
	.globl _start
_start:
	/* Interrupts stay off until the kernel has a trap vector. */
	csrw	sie, zero
	csrci	sstatus, 2
	mv	s0, a0			/* hartid */
	mv	s1, a1			/* dtb */
	la	sp, rv_boot_stacks + BOOT_STACK_SIZE
	/* Zero .bss (the linker aligns both ends to 8 bytes). */
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	la	t0, rv_boot_hartid
	sd	s0, 0(t0)
	mv	a0, s1
	call	kmain
	/* kmain does not return; if it does, stop the machine as a failure. */
	li	a0, 3
	call	arch_power_off
3:	wfi
	j	3b

/*
 * Secondary harts: SBI HSM hart_start enters here in S-mode with the MMU
 * off, a0 = hartid and a1 = the opaque value, which arch_start_hart sets
 * to the hart's index h.  Stack h, then C (rv_secondary_main turns on the
 * kernel's page table and calls kmain_secondary).
 */
	.section .text, "ax"
	.globl rv_secondary_entry
	.balign 4
rv_secondary_entry:
	csrw	sie, zero
	csrci	sstatus, 2
	addi	t0, a1, 1
	li	t1, BOOT_STACK_SIZE
	mul	t0, t0, t1
	la	sp, rv_boot_stacks
	add	sp, sp, t0
	mv	a0, a1
	call	rv_secondary_main
4:	wfi
	j	4b

	/* Not in .bss: stacks need no zeroing, and boot skips 128 KiB of stores. */
	.section .stack, "aw", @nobits
	.balign 16
	.globl rv_boot_stacks
rv_boot_stacks:
	.space BOOT_STACK_SIZE * SMP_MAX
