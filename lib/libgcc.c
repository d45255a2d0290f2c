/* Compiler support routines the kernel and every program share. */
#include "lib/libgcc.h"

/* Halving the range five times: about 20 instructions on rv64imac, where
 * libgcc's __clzdi2 takes some 40.  x != 0, as for __builtin_clzll. */
int px_clz64(unsigned long x)
{
	int n = 0;

	if (!(x >> 32)) {
		n += 32;
		x <<= 32;
	}
	if (!(x >> 48)) {
		n += 16;
		x <<= 16;
	}
	if (!(x >> 56)) {
		n += 8;
		x <<= 8;
	}
	if (!(x >> 60)) {
		n += 4;
		x <<= 4;
	}
	if (!(x >> 62)) {
		n += 2;
		x <<= 2;
	}
	return n + (int)!(x >> 63);
}

#if defined(__riscv) && !defined(__riscv_zbb)
/* __builtin_clzll (the timer wheel's level_for, on every insert) is a call
 * to __clzdi2 on a core without a count-zeros instruction (rv64imac). */
int __clzdi2(unsigned long x);
int __clzdi2(unsigned long x)
{
	return px_clz64(x);
}
#endif
