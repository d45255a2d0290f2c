/* Drive futures to completion without an executor: poll, sleep in WFI until woken. */
#ifndef KERNEL_BLOCK_ON_H
#define KERNEL_BLOCK_ON_H

#include <stddef.h>

#include "executor/future.h"

/*
 * Test and early-boot scaffolding until the kernel executor runs every
 * task; the executor's own block_on replaces it.  One waker for all the
 * futures: a wake sets a flag, and every unfinished future is polled
 * again (the futures must tolerate spurious polls, as all futures do).
 * Between rounds the hart sleeps in wait-for-interrupt; it never polls a
 * device register.  Not reentrant; call with interrupts enabled.
 */
void block_on(struct future *f);
void block_on_all(struct future *const *fs, size_t n);

#endif /* KERNEL_BLOCK_ON_H */
