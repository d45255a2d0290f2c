/* The time counter as user mode reads it (riscv64 rdtime, aarch64 CNTPCT_EL0): the reactor's clock, the trace's stamps. */
#ifndef USER_LIB_TICKS_H
#define USER_LIB_TICKS_H

#include <stdint.h>

#if defined(__riscv) || defined(__aarch64__)
/* The kernel lets user mode read it (riscv scounteren.TM, aarch64
 * CNTKCTL_EL1.EL0PCTEN); the isb keeps the read from running early. */
static inline uint64_t px_ticks(void)
{
	uint64_t v;
#if defined(__riscv)
	__asm__ volatile("rdtime %0" : "=r"(v));
#else
	__asm__ volatile("isb; mrs %0, cntpct_el0" : "=r"(v));
#endif
	return v;
}
#endif

#endif /* USER_LIB_TICKS_H */
