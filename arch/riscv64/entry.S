/* riscv64 boot entry: OpenSBI jumps here in S-mode with a0 = hartid, a1 = dtb; so do secondaries (SBI HSM). */
#include "arch/riscv64/trapframe.h"

#define BOOT_STACK_SIZE 16384

/*
 * One entry for every hart.  The first hart to arrive claims the boot
 * (rv_boot_claimed, in .data so that clearing .bss cannot reset it) and
 * runs kmain; every later arrival parks until the boot hart has named it
 * in rv_hart_release[] and then becomes that secondary.  A hart therefore
 * never needs the right start address or a1 to be safe, which matters
 * because OpenSBI 1.1 does not guarantee either: its hart_start marks
 * the hart START_PENDING before it stores the start address and opaque
 * value, and a stopped hart polling that state (it does poll: the
 * firmware leaves its wake-up IPI pending, so its wfi returns at once)
 * can leave with the previous values, i.e. the firmware's own next
 * address (this _start) with a1 = the dtb.  Before this entry existed
 * that hart cleared .bss under the running kernel and ran kmain a second
 * time on the boot hart's stack, about once in 150 boots at -smp 4.
 */
	.section .text.entry, "ax"
	.globl _start
_start:
	/* Interrupts stay off until the kernel has a trap vector. */
	csrw	sie, zero
	csrci	sstatus, 2
	la	t0, rv_boot_claimed
	li	t1, 1
	amoswap.w.aqrl t1, t1, (t0)
	bnez	t1, rv_park
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
 * A hart that is not the boot hart, a0 = its hartid (a1 is not trusted):
 * look for a0 in rv_hart_release[1..SMP_MAX-1], where arch_start_hart
 * puts the hartid of secondary h before asking the firmware to start it.
 * Not there yet: wait and look again, touching no stack and no memory but
 * the table, so an early arrival cannot disturb the boot.  Found at h:
 * enter as secondary h.
 */
rv_park:
	la	t0, rv_hart_release + 8
	li	t1, 1
	li	t3, SMP_MAX
5:	ld	t2, 0(t0)
	beq	t2, a0, 7f
	addi	t1, t1, 1
	addi	t0, t0, 8
	bltu	t1, t3, 5b
	li	t2, 4096		/* not named yet: pause, then look again */
6:	addi	t2, t2, -1
	bnez	t2, 6b
	j	rv_park
7:	fence	r, rw			/* the boot hart's earlier stores first */
	mv	a1, t1
	j	rv_secondary_entry

/*
 * Secondary hart h (a1, from rv_park), in S-mode with the MMU off.
 * Stack h, then C (rv_secondary_main turns on the kernel's page table
 * and calls kmain_secondary).
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

	/* Not in .bss: both must survive the boot hart's clearing of .bss. */
	.section .data, "aw"
	.balign 8
	.globl rv_hart_release
rv_hart_release:
	.rept SMP_MAX
	.dword -1
	.endr
rv_boot_claimed:
	.word 0
