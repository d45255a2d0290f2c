/* aarch64 boot entry: Linux arm64 Image header, then PMU, stack, .bss, FP/SIMD, vectors, MMU, kmain(dtb); secondaries park here until released. */
#include "arch/aarch64/sysreg.h"
#include "arch/aarch64/trapframe.h"

/*
 * QEMU (-kernel) and real boot loaders recognise the 64-byte arm64 Image
 * header below (Documentation/arch/arm64/booting.rst in Linux): because
 * image_size is nonzero QEMU loads the image at RAM base + text_offset,
 * enters at its first byte at EL1 (EL2 with virtualization=on) with the
 * MMU off, and passes the device tree's physical address in x0; the tree
 * sits above the image (RAM base + min(RAM/2, 128 MiB) on QEMU 7.2).
 * text_offset and the link address both come from linker/aarch64.ld
 * (__text_offset), so they cannot drift apart;
 * a64_entry still checks at run time that we run where we were linked,
 * because until the MMU is on nothing else would notice.
 *
 * Failures this early cannot use the console (no device tree parsed yet):
 * a64_early_fail writes to the PL011 at its documented QEMU virt fallback
 * address 0x09000000 and exits QEMU through semihosting with status 3
 * (the kernel's EXIT_PANIC).
 */

/* Image header flags: little endian (bit 0 = 0), 4 KiB pages (bits 1-2 =
 * 1), load at a 2 MiB-aligned base near the start of RAM (bit 3 = 0). */
#define IMAGE_FLAGS 0x2

#define A64_STACK_SIZE 16384   /* per hart; SMP_MAX of them in .stacks */

#define EARLY_FAIL_STATUS 3       /* EXIT_PANIC in kernel/panic.h */
#define PL011_FALLBACK 0x09000000

	.section .text.head, "ax"
	.globl	_start
_start:
	b	a64_entry                 /* code0: executable branch */
	.long	0                         /* code1 */
	.quad	__text_offset             /* text_offset from a 2 MiB boundary */
	.quad	__image_size              /* bytes _start..__kernel_end, stacks included */
	.quad	IMAGE_FLAGS
	.quad	0                         /* res2 */
	.quad	0                         /* res3 */
	.quad	0                         /* res4 */
	.ascii	"ARM\x64"                 /* magic */
	.long	0                         /* res5: no PE/COFF header */

	.section .text.boot, "ax"
a64_entry:
	msr	daifset, #0xf

	/* Every CPU enters here, PSCI CPU_ON included.  The first claims the
	 * boot (a64_boot_claimed, in .data so clearing .bss cannot reset it);
	 * any later one parks until released (a64_park).  Plain accesses
	 * with the MMU off go to memory, and the boot protocol enters one CPU
	 * at the image entry at reset, so a load and a store suffice. */
	adrp	x1, a64_boot_claimed
	add	x1, x1, :lo12:a64_boot_claimed
	ldr	w2, [x1]
	cbnz	w2, a64_park
	mov	w2, #1
	str	w2, [x1]
	dsb	sy

	mov	x19, x0                   /* keep the dtb pointer for kmain */

	/* Start counting instructions as early as possible, so arch_instret
	 * measures from (nearly) reset: all PMU counters on, counters reset,
	 * 64-bit cycle counter, event counter 0 = INST_RETIRED (see cpu.c). */
	mov	x1, #(PMCR_E | PMCR_P | PMCR_C | PMCR_LC)
	msr	pmcr_el0, x1
	msr	pmselr_el0, xzr
	isb
	mov	x1, #PMU_EV_INST_RETIRED
	msr	pmxevtyper_el0, x1
	msr	pmccfiltr_el0, xzr
	ldr	x1, =(PMCNTEN_C | 1)
	msr	pmcntenset_el0, x1

	/* Pollux is an EL1 kernel.  QEMU virt enters at EL1, but with
	 * virtualization=on (and most real boot loaders) it is EL2: then
	 * configure EL2 to stay out of the way and drop to EL1.  EL3 would
	 * mean no firmware at all; give up loudly. */
	mrs	x1, currentel
	mov	x21, x1                   /* kept for a64_entry_el (callee-saved) */
	cmp	x1, #(1 << 2)
	b.eq	a64_at_el1
	cmp	x1, #(2 << 2)
	adr	x20, a64_at_el1           /* where a64_el2_to_el1 returns */
	b.eq	a64_el2_to_el1
	adrp	x0, msg_el3              /* adr reaches only 1 MiB: data is further */
	add	x0, x0, :lo12:msg_el3
	b	a64_early_fail

	/* Running where we were linked?  adr is PC-relative (where we are),
	 * the literal holds the link-time address. */
a64_at_el1:
	adr	x1, _start
	ldr	x2, =_start
	cmp	x1, x2
	b.eq	2f
	adrp	x0, msg_bad_addr
	add	x0, x0, :lo12:msg_bad_addr
	b	a64_early_fail

	/* Boot hart stack: top of slot 0. */
2:	adrp	x1, a64_boot_stacks
	add	x1, x1, :lo12:a64_boot_stacks
	add	x1, x1, #A64_STACK_SIZE
	mov	sp, x1

	/* Zero .bss (the stacks are outside it), 64 bytes a turn.  Both
	 * ends are 64-byte aligned by the linker script, and the stores are
	 * aligned, as they must be while the MMU is off (all data accesses
	 * are Device). */
	adrp	x1, __bss_start
	add	x1, x1, :lo12:__bss_start
	adrp	x2, __bss_end
	add	x2, x2, :lo12:__bss_end
	b	4f
3:	stp	xzr, xzr, [x1]
	stp	xzr, xzr, [x1, #16]
	stp	xzr, xzr, [x1, #32]
	stp	xzr, xzr, [x1, #48]
	add	x1, x1, #64
4:	cmp	x1, x2
	b.lo	3b

	/* The exception level we were entered at, now that .bss is zero. */
	lsr	x21, x21, #2
	adrp	x1, a64_entry_el
	str	x21, [x1, :lo12:a64_entry_el]

	/* FP/SIMD on before any C: picolibc's memcpy/memset/printf use the
	 * vector registers, and a trapped access would be EC 0x07. */
	mov	x1, #(3 << 20)
	msr	cpacr_el1, x1
	isb

	adrp	x1, a64_vectors
	add	x1, x1, :lo12:a64_vectors
	msr	vbar_el1, x1
	isb

	/* Hart index for arch_hart_id(): the boot hart is 0 until
	 * arch_trap_init looks its MPIDR up in the device tree. */
	msr	tpidr_el1, xzr

	/* End of the frame-pointer chain for backtraces. */
	mov	x29, xzr
	mov	x30, xzr

	/* Identity map with RAM cacheable, then MMU on (mmu.c). */
	bl	a64_mmu_init

	/* picolibc's thread-local storage (errno, ...) is set up by kmain
	 * itself (per-hart blocks); nothing here touches errno. */

	mov	x0, x19
	bl	kmain

	/* kmain does not return; if it does, park the hart quietly. */
5:	msr	daifset, #0xf
	wfi
	b	5b

/*
 * Entered at EL2: make EL1 an ordinary AArch64 kernel level with direct
 * access to what Pollux uses (physical timer and counter, GICv3 system
 * registers, FP/SIMD, all PMU counters), then eret to EL1h at x20
 * (a64_at_el1 or a64_secondary_el1) with every exception masked.  x19
 * (the dtb, or a secondary's index) survives the eret.
 */
#define HCR_EL2_RW          (1 << 31)      /* EL1 is AArch64 */
#define CNTHCTL_EL1PCTEN    (1 << 0)       /* EL1 may read CNTPCT */
#define CNTHCTL_EL1PCEN     (1 << 1)       /* EL1 may use the CNTP timer */
#define CPTR_EL2_RES1       0x33ff         /* TFP (bit 10) clear: no FP traps */
#define ICC_SRE_EL2_SRE     (1 << 0)
#define ICC_SRE_EL2_ENABLE  (1 << 3)       /* EL1 may set its own SRE */
#define SPSR_EL1H_MASKED    0x3c5          /* DAIF set, M = EL1h */

a64_el2_to_el1:
	ldr	x1, =HCR_EL2_RW
	msr	hcr_el2, x1
	mrs	x1, cnthctl_el2
	orr	x1, x1, #(CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN)
	msr	cnthctl_el2, x1
	msr	cntvoff_el2, xzr
	mov	x1, #CPTR_EL2_RES1
	msr	cptr_el2, x1
	/* HPMN = PMCR_EL0.N: EL1 sees every event counter. */
	mrs	x1, pmcr_el0
	ubfx	x1, x1, #11, #5
	msr	mdcr_el2, x1
	/* GICv3 CPU interface present (ID_AA64PFR0_EL1.GIC)?  Then let EL1
	 * use its system registers. */
	mrs	x1, id_aa64pfr0_el1
	ubfx	x1, x1, #24, #4
	cbz	x1, 2f
	mrs	x1, icc_sre_el2
	orr	x1, x1, #ICC_SRE_EL2_SRE
	orr	x1, x1, #ICC_SRE_EL2_ENABLE
	msr	icc_sre_el2, x1
	isb
2:	mrs	x1, midr_el1
	msr	vpidr_el2, x1
	mrs	x1, mpidr_el1
	msr	vmpidr_el2, x1
	msr	vttbr_el2, xzr
	/* EL1 starts with its MMU and caches off, as at an EL1 entry. */
	ldr	x1, =SCTLR_RES1
	msr	sctlr_el1, x1
	mov	x1, #SPSR_EL1H_MASKED
	msr	spsr_el2, x1
	msr	elr_el2, x20
	eret

/*
 * A CPU that is not the boot CPU, MMU off (x0 is not trusted): look for
 * its MPIDR affinity in a64_hart_release[1..SMP_MAX-1], where
 * arch_start_hart puts secondary h's before CPU_ON (and cleans it to the
 * point of coherency, since this CPU reads memory uncached).  Not there
 * yet: wait and look again, touching no stack and nothing but the table.
 * Found at h: enter as secondary h.
 */
a64_park:
	mrs	x2, mpidr_el1
	ldr	x3, =MPIDR_AFF_MASK
	and	x2, x2, x3
1:	adrp	x3, a64_hart_release
	add	x3, x3, :lo12:a64_hart_release
	add	x3, x3, #8
	mov	x4, #1
2:	ldr	x5, [x3]
	cmp	x5, x2
	b.eq	4f
	add	x4, x4, #1
	add	x3, x3, #8
	cmp	x4, #SMP_MAX
	b.lo	2b
	mov	x5, #4096                 /* not named yet: pause, look again */
3:	subs	x5, x5, #1
	b.ne	3b
	b	1b
4:	dmb	sy                        /* the boot CPU's earlier stores first */
	mov	x0, x4
	b	a64_secondary_entry

/*
 * Secondary hart h (x0, from a64_park) with the MMU off.
 * The same steps as the boot hart minus .bss and the PMU reset: EL2 drop
 * if needed, stack h, FP/SIMD, vectors, hart index, MMU (the boot
 * identity map, then the kernel root), then a64_secondary_main(h).
 */
	.globl	a64_secondary_entry
a64_secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	mrs	x1, currentel
	cmp	x1, #(2 << 2)
	adr	x20, a64_secondary_el1
	b.eq	a64_el2_to_el1
a64_secondary_el1:
	adrp	x1, a64_boot_stacks
	add	x1, x1, :lo12:a64_boot_stacks
	add	x2, x19, #1
	mov	x3, #A64_STACK_SIZE
	madd	x1, x2, x3, x1
	mov	sp, x1
	mov	x1, #(3 << 20)
	msr	cpacr_el1, x1
	isb
	adrp	x1, a64_vectors
	add	x1, x1, :lo12:a64_vectors
	msr	vbar_el1, x1
	isb
	msr	tpidr_el1, x19
	mov	x29, xzr
	mov	x30, xzr
	bl	a64_mmu_init
	mov	x0, x19
	bl	a64_secondary_main
6:	msr	daifset, #0xf
	wfi
	b	6b

/*
 * a64_mmu_switch(x0 = new TTBR0_EL1 value): see vm.h.  Between the two
 * sctlr writes the MMU is off, so nothing here may load or store (data
 * accesses would be Device, bypassing the caches that hold the stack).
 */
	.section .text, "ax"
	.globl	a64_mmu_switch
a64_mmu_switch:
	mrs	x1, sctlr_el1
	bic	x2, x1, #SCTLR_M
	dsb	ish
	msr	sctlr_el1, x2
	isb
	msr	ttbr0_el1, x0
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	msr	sctlr_el1, x1
	isb
	ic	iallu
	dsb	nsh
	isb
	ret

	.section .text.boot, "ax"
/*
 * a64_early_fail(x0 = NUL-terminated message): print it on the fallback
 * PL011, then exit QEMU with EARLY_FAIL_STATUS through semihosting.  Uses
 * no stack and only PC-relative addresses, so it works before anything is
 * set up and even when the image was loaded at the wrong address.
 */
a64_early_fail:
	mov	x2, #PL011_FALLBACK
1:	ldrb	w1, [x0], #1
	cbz	w1, 2f
	str	w1, [x2]                  /* UARTDR; QEMU never fills its FIFO */
	b	1b
	/* adrp: still PC-relative, but +-4 GiB; adr's +-1 MiB does not
	 * reach .data.boot past the program archive in .rodata. */
2:	adrp	x1, a64_early_exit_block
	add	x1, x1, :lo12:a64_early_exit_block
	mov	x0, #0x18                 /* SYS_EXIT */
	hlt	#0xf000
3:	wfi                               /* semihosting disabled: stop here */
	b	3b

	/* Read-only, and next to its one user: adr reaches only 1 MiB, and
	 * .data lies beyond the embedded program archive. */
	.balign	8
a64_early_exit_block:
	.quad	0x20026                   /* ADP_Stopped_ApplicationExit */
	.quad	EARLY_FAIL_STATUS

	.section .rodata.boot, "a"
msg_el3:
	.asciz	"pollux: entered at EL3 (no firmware?); Pollux needs EL1 or EL2; stopping\r\n"
msg_bad_addr:
	.asciz	"pollux: loaded at a different address than linked (check text_offset); stopping\r\n"


	/* Boot stacks, one per possible hart; kernel code never needs more
	 * (stackless kernel: one stack per hart, not per task). */
	.section .stacks, "aw", %nobits
	.balign	16
	.globl	a64_boot_stacks
a64_boot_stacks:
	.space	A64_STACK_SIZE * SMP_MAX
	.globl	a64_boot_stacks_end
a64_boot_stacks_end:

	/* Not in .bss: both must survive the boot CPU's clearing of .bss. */
	.section .data, "aw"
	.balign	64                        /* its own cache lines (cleaned to PoC) */
	.globl	a64_hart_release
a64_hart_release:
	.rept	SMP_MAX
	.quad	-1
	.endr
	.balign	64
a64_boot_claimed:
	.long	0
	.balign	64
