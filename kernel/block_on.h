/* Drive futures to completion without an executor: poll, sleep in WFI until woken. */
#ifndef KERNEL_BLOCK_ON_H
#define KERNEL_BLOCK_ON_H

#include <stdatomic.h>
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

/*
 * The waker block_on polls with (lab 2 writes its vtable): its data is a
 * struct block_waker.  A wake sets `woken`; `refs` counts the live wakers
 * that name it (the one block_waker_new returns plus every clone not yet
 * consumed by wake or drop), so a test can check that clones and drops
 * balance.  Every operation is safe from a trap handler.
 */
struct block_waker {
	atomic_int refs;
	atomic_int woken;
};

/* Resets *bw (refs 1, woken 0) and returns the one waker that owns it. */
struct waker block_waker_new(struct block_waker *bw);

#endif /* KERNEL_BLOCK_ON_H */
