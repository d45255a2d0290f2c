/* The kernel's link-time hooks for executor/: interrupt masking, asserts, lab stub messages. */
#include <stdio.h>

#include "arch/arch.h"
#include "executor/hooks.h"
#include "kernel/panic.h"

unsigned long exec_irq_save(void)
{
	return arch_irq_save();
}

void exec_irq_restore(unsigned long flags)
{
	arch_irq_restore(flags);
}

void exec_spin_hint(void)
{
	arch_cpu_relax();
}

_Noreturn void exec_assert_fail(const char *expr, const char *file, int line)
{
	panic("executor assertion failed: %s (%s:%d)", expr, file, line);
}

void exec_lab_todo(const char *line)
{
	printf("%s\n", line);
}
