/* Compiler support routines (lib/libgcc.c), callable by name for their host test. */
#ifndef LIB_LIBGCC_H
#define LIB_LIBGCC_H

/* The number of leading zero bits of x (x != 0), as __builtin_clzll. */
int px_clz64(unsigned long x);

#endif
