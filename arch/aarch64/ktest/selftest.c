/* aarch64 user-mode self-test program for the in-kernel tests (test kernel only): where its parts are. */
#include <stddef.h>

#include "arch/arch.h"

/* Its symbols, from selftest_prog.S. */
extern const char a64_selftest_prog[], a64_selftest_prog_end[];
extern const char a64_selftest_spin[], a64_selftest_illegal[], a64_selftest_loop[];

void arch_selftest_user_prog(struct arch_selftest_prog *p)
{
	p->code = a64_selftest_prog;
	p->len = (size_t)(a64_selftest_prog_end - a64_selftest_prog);
	p->spin_off = (size_t)(a64_selftest_spin - a64_selftest_prog);
	p->illegal_off = (size_t)(a64_selftest_illegal - a64_selftest_prog);
	p->loop_off = (size_t)(a64_selftest_loop - a64_selftest_prog);
}
