/* What kmain leaves to the test kernel: one hook, weak in the normal kernel. */
#ifndef KERNEL_MAIN_H
#define KERNEL_MAIN_H

#include <stdbool.h>

/*
 * The test kernel's turn, once every hart is up and interrupts are on.
 * kmain calls it before starting the first program.  The normal kernel
 * links only a weak default that returns false (nothing of the tests in
 * its image); the test kernel (KTEST=1) links kernel/ktest/ktest.c, whose
 * definition either runs the in-kernel tests and powers off (never
 * returns), or, when the command line says "kbench" or "kbench=smp",
 * spawns the benchmarks (kernel/kbench/) and returns true: they are the
 * first task, and kmain starts no program.
 */
bool ktest_boot(void);

#endif /* KERNEL_MAIN_H */
