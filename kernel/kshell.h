/* The console's keys and tasks: the kernel shell, the Ctrl-T reporter, what Ctrl-C kills. */
#ifndef KERNEL_KSHELL_H
#define KERNEL_KSHELL_H

#include <stdint.h>

/* Instruction counter at kmain entry (kernel/main.c). */
extern uint64_t boot_instret_kmain;

/* Spawn the kernel shell (when no user program runs). */
void kshell_start(void);
/* Spawn the Ctrl-T task and let Ctrl-C kill the console's foreground
 * process group: every boot, whatever runs first. */
void kshell_keys_start(void);

#endif /* KERNEL_KSHELL_H */
