/* riscv64 CPU primitives that hot paths want inline: interrupt masking, hart index, clock. */
#ifndef ARCH_RISCV64_INCLUDE_ARCH_CPU_H
#define ARCH_RISCV64_INCLUDE_ARCH_CPU_H

#include <stdint.h>

struct trap_frame;

/*
 * arch/arch.h's arch_irq_save, arch_irq_restore, arch_hart_id,
 * arch_timer_now, arch_cpu_relax and arch_trap_stamp, defined here
 * (arch.h's later declarations take their internal linkage from these
 * definitions) because spin locks, the park and the timer interrupt
 * call them on every wake-up: inline, each is one or two instructions,
 * not a call.
 */

/* sstatus.SIE (bit 1): the token is the old bit, 0 or 2. */
static inline unsigned long arch_irq_save(void)
{
	unsigned long old;
	__asm__ volatile("csrrci %0, sstatus, 2" : "=r"(old) : : "memory");
	return old & 2;
}

/* Sets SIE again when the token has it (csrs with 0 changes nothing). */
static inline void arch_irq_restore(unsigned long flags)
{
	__asm__ volatile("csrs sstatus, %0" : : "r"(flags & 2) : "memory");
}

/* tp is picolibc's TLS pointer, so the hart index lives in TLS; the
 * boot hart's block is zeroed, making it hart 0 (arch/riscv64/cpu.c). */
extern _Thread_local unsigned rv_hart_index;

static inline unsigned arch_hart_id(void)
{
	return rv_hart_index;
}

static inline uint64_t arch_timer_now(void)
{
	uint64_t t;
	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

/* Inline so that a spin loop makes no call: a function that takes a
 * spin lock then needs no callee-saved registers for it. */
static inline void arch_cpu_relax(void)
{
	/* PAUSE (Zihintpause), encoded as FENCE w,0: a no-op where the
	 * extension is missing, so any assembler and any hart take it. */
	__asm__ volatile(".4byte 0x0100000f" ::: "memory");
}

/* arch_trap_stamp: the word the test kernel's vector stored in the frame
 * (at this offset: trapframe.h's TF_STAMP, checked in cpu.c).  Inline
 * because the timer interrupt takes it when the latency benchmark asks:
 * a call would cost the measured path a stack frame. */
#define RV_CPU_TF_STAMP (35 * 8)

static inline uint64_t arch_trap_stamp(const struct trap_frame *tf)
{
#ifdef TRAP_STAMP
	/* trapvec.S reads it at the sixth instruction. */
	const uint64_t *stamp =
		(const uint64_t *)(const void *)((const char *)tf + RV_CPU_TF_STAMP);
	return (*stamp - 5);
#else
	(void)tf;
	return 0;
#endif
}

#endif /* ARCH_RISCV64_INCLUDE_ARCH_CPU_H */
