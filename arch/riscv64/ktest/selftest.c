/* riscv64 user-mode self-test program for the in-kernel tests (test kernel only): where its parts are. */
#include <stddef.h>

#include "arch/arch.h"

/* Its symbols, from selftest_prog.S. */
extern const char rv_selftest_code[], rv_selftest_end[];
extern const char rv_selftest_spin[], rv_selftest_illegal[], rv_selftest_loop[];

void arch_selftest_user_prog(struct arch_selftest_prog *p)
{
	p->code = rv_selftest_code;
	p->len = (size_t)(rv_selftest_end - rv_selftest_code);
	p->spin_off = (size_t)(rv_selftest_spin - rv_selftest_code);
	p->illegal_off = (size_t)(rv_selftest_illegal - rv_selftest_code);
	p->loop_off = (size_t)(rv_selftest_loop - rv_selftest_code);
}
