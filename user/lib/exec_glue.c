/* The user environment's link-time hooks for executor/: asserts exit, lab stub messages. */
#include <stdio.h>
#include <stdlib.h>

#include "executor/hooks.h"

/* No interrupt masking here: user code is built with -DEXEC_NO_IRQ (one
 * thread, no handlers), so exec_irq_save/restore are inline no-ops. */

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

/*
 * __builtin_popcountll (exec.c counts idle workers with it) becomes a call
 * to libgcc's __popcountdi2 without FP/SIMD, and Debian's aarch64 libgcc
 * implements that with the SIMD cnt instruction.  One user thread never
 * takes that path, but this keeps the programs free of FP/SIMD code
 * (docs/user.md "The user build"): the classic bit-slicing count.
 */
int __popcountdi2(unsigned long x);
int __popcountdi2(unsigned long x)
{
	x = x - ((x >> 1) & 0x5555555555555555ul);
	x = (x & 0x3333333333333333ul) + ((x >> 2) & 0x3333333333333333ul);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0ful;
	return (int)((x * 0x0101010101010101ul) >> 56);
}

