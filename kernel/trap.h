/* Kernel trap hooks beyond arch/arch.h's trap_* entry points. */
#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H

#include <stdbool.h>

struct trap_frame;

/* Called for a breakpoint instruction; return true to resume after it.
 * NULL (the default) makes a breakpoint an unexpected exception. */
typedef bool (*trap_breakpoint_fn)(struct trap_frame *tf);
extern trap_breakpoint_fn trap_breakpoint_hook;

#endif /* KERNEL_TRAP_H */
