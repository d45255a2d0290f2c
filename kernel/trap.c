/* Kernel side of traps: fault reports and the breakpoint hook. */
#include <stdio.h>

#include "arch/arch.h"
#include "kernel/panic.h"
#include "kernel/trap.h"

trap_breakpoint_fn trap_breakpoint_hook;

bool trap_breakpoint(struct trap_frame *tf)
{
	return trap_breakpoint_hook && trap_breakpoint_hook(tf);
}

void trap_describe(char *buf, unsigned long n, const struct trap_info *info)
{
	int len = snprintf(buf, n, "%s at pc %#llx", info->what, (unsigned long long)info->pc);
	if (len < 0 || (unsigned long)len >= n)
		return;
	if (info->has_addr)
		snprintf(buf + len, n - len, ", address %#llx", (unsigned long long)info->addr);
	else if (info->has_insn)
		snprintf(buf + len, n - len, ", instruction %#llx", (unsigned long long)info->insn);
}

/* An exception nobody handles is a kernel bug: say everything we know,
 * then stop with a status the harness recognises.  Never a silent hang. */
void trap_exception(struct trap_frame *tf, const struct trap_info *info)
{
	static int reporting;

	arch_irq_off();
	/* A fault while reporting one (a broken stack, a bad console) must
	 * not recurse forever: stop at once. */
	if (reporting++)
		arch_power_off(EXIT_FAULT);
	printf("\n*** unexpected exception on hart %u (%s mode): %s\n",
	       arch_hart_id(), info->from_user ? "user" : "kernel", info->what);
	printf("*** cause %#llx  pc %#llx", (unsigned long long)info->cause,
	       (unsigned long long)info->pc);
	if (info->has_addr)
		printf("  address %#llx", (unsigned long long)info->addr);
	if (info->has_insn)
		printf("  instruction %#llx", (unsigned long long)info->insn);
	printf("\n");
	arch_dump_frame(tf);
	printf("*** kernel stopped (exit status %d)\n", EXIT_FAULT);
	arch_power_off(EXIT_FAULT);
}
