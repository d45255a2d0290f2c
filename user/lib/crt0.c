/* C half of the user start-up: set up TLS, run constructors, main, exit. */
#include <stdlib.h>

/*
 * Startup contract (docs/user.md): the kernel enters _start (crt0_<arch>.S)
 * with sp 16-byte aligned below the argument area, argument register 0 =
 * argc and register 1 = argv, a pointer to argc+1 pointers ending in NULL,
 * whose strings also live on the stack.  _start tail-calls __px_start.
 *
 * .bss is not cleared here: the ELF loader maps every page of a segment
 * from a zeroed frame (kernel/elf.c; make host-test-elf checks it), which
 * is part of the start-up contract.  Clearing it again would cost every
 * spawn a pass over .bss, and on aarch64 picolibc's SIMD memset would make
 * every program take the FP/SIMD trap.
 */

/* Linker-script symbols (linker/user.ld). */
extern char __user_tls_block[];

/* picolibc */
void _init_tls(void *tls);
void _set_tls(void *tls);
void __libc_init_array(void);

int main(int argc, char **argv);
_Noreturn void __px_start(int argc, char **argv);

_Noreturn void __px_start(int argc, char **argv)
{
	/* errno and stdio state live in TLS: riscv64 tp, aarch64 TPIDR_EL0. */
	_init_tls(__user_tls_block);
	_set_tls(__user_tls_block);
	__libc_init_array();
	exit(main(argc, argv));
}
