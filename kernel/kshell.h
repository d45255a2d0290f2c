/* The kernel console shell and the Ctrl-T reporter, as kernel tasks. */
#ifndef KERNEL_KSHELL_H
#define KERNEL_KSHELL_H

#include <stdint.h>

/* Instruction counter at kmain entry (kernel/main.c). */
extern uint64_t boot_instret_kmain;

/* Spawn the shell and the Ctrl-T task on the kernel executor. */
void kshell_start(void);

#endif /* KERNEL_KSHELL_H */
