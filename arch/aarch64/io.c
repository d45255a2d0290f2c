/* aarch64 ordering between normal memory and devices. */
#include "arch/arch.h"

/* dsb sy: completes every earlier memory access, device or normal, before
 * any later one; heavier than dmb but one rule for a teaching kernel. */
void arch_io_barrier(void)
{
	__asm__ volatile("dsb sy" ::: "memory");
}
