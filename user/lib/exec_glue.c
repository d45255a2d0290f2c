/* The user environment's link-time hooks for executor/: no interrupts, asserts exit. */
#include <stdio.h>
#include <stdlib.h>

#include "executor/platform.h"

/* A user program has no interrupts to mask: one thread, no handlers. */
#ifndef EXEC_NO_IRQ	/* else inline no-ops in platform.h */
unsigned long exec_irq_save(void)
{
	return 0;
}

void exec_irq_restore(unsigned long flags)
{
	(void)flags;
}
#endif

/* Exit status 134 (128 + SIGABRT), as a Unix shell would show an abort. */
_Noreturn void exec_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "executor assertion failed: %s (%s:%d)\n", expr, file, line);
	exit(134);
}

void exec_lab_todo(const char *line)
{
	printf("%s\n", line);
}
