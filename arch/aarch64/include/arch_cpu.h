/* aarch64 CPU primitives that hot paths want inline: interrupt masking, hart index, clock. */
#ifndef ARCH_AARCH64_INCLUDE_ARCH_CPU_H
#define ARCH_AARCH64_INCLUDE_ARCH_CPU_H

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

/* The token is the whole DAIF value: only I changes under our critical
 * sections, so writing it back is exact. */
static inline unsigned long arch_irq_save(void)
{
	unsigned long flags;
	__asm__ volatile("mrs %0, daif\n\tmsr daifset, #2" : "=r"(flags) : : "memory");
	return flags;
}

static inline void arch_irq_restore(unsigned long flags)
{
	__asm__ volatile("msr daif, %0" : : "r"(flags) : "memory");
}

/* TPIDR_EL1 holds the hart index (arch/aarch64/cpu.c, arch_hart_init). */
static inline unsigned arch_hart_id(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, tpidr_el1" : "=r"(v));
	return (unsigned)v;
}

/* isb: without it the counter read may be taken early, out of order
 * with the code before it. */
static inline uint64_t arch_timer_now(void)
{
	uint64_t t;
	__asm__ volatile("isb\n\tmrs %0, cntpct_el0" : "=r"(t) : : "memory");
	return t;
}

/* Inline so that a spin loop makes no call: a function that takes a
 * spin lock then needs no callee-saved registers for it. */
static inline void arch_cpu_relax(void)
{
	__asm__ volatile("yield" ::: "memory");
}

/* arch_trap_stamp: the word the test kernel's vector stored in the frame
 * (at this offset: trapframe.h's TF_STAMP, checked in cpu.c).  Inline
 * because the timer interrupt takes it when the latency benchmark asks:
 * a call would cost the measured path a stack frame. */
#define A64_CPU_TF_STAMP (816)

static inline uint64_t arch_trap_stamp(const struct trap_frame *tf)
{
#ifdef TRAP_STAMP
	/* vectors.S keeps event counter 0 (32 bits), read four
	 * instructions after the vector's first. */
	const uint64_t *stamp =
		(const uint64_t *)(const void *)((const char *)tf + A64_CPU_TF_STAMP);
	return (uint32_t)(*stamp - 4);
#else
	(void)tf;
	return 0;
#endif
}

#endif /* ARCH_AARCH64_INCLUDE_ARCH_CPU_H */
