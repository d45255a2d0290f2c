/* In-kernel benchmarks, run when the command line says "kbench". */
#ifndef KERNEL_KBENCH_KBENCH_H
#define KERNEL_KBENCH_KBENCH_H

#include <stdint.h>

/* Median of v[0..n) (sorts v in place). */
uint64_t kbench_median(uint64_t *v, unsigned n);

/* The cost of a trace record (a tracing kernel: make bench-trace); prints
 * nothing in any other. */
void kbench_trace(void);

/* Spawn the benchmark task; it prints "bench ..." lines and powers off. */
void kbench_start(void);

#endif /* KERNEL_KBENCH_KBENCH_H */
