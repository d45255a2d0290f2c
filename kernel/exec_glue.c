/* The kernel's link-time hooks for executor/: asserts and lab stub messages. */
#include <stdio.h>

#include "arch/arch.h"
#include "executor/hooks.h"
#include "kernel/panic.h"

_Noreturn void exec_assert_fail(const char *expr, const char *file, int line)
{
	panic("executor assertion failed: %s (%s:%d)", expr, file, line);
}

void exec_lab_todo(const char *line)
{
	printf("%s\n", line);
}
