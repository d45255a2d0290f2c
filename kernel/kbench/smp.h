/* Multi-hart benchmarks, run when the command line says "kbench=smp". */
#ifndef KERNEL_KBENCH_SMP_H
#define KERNEL_KBENCH_SMP_H

/* Spawn the benchmark task (pinned to hart 0); it prints "bench ..."
 * lines and powers off. */
void kbench_smp_start(void);

#endif /* KERNEL_KBENCH_SMP_H */
