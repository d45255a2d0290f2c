/* Drive futures to completion without an executor: poll, sleep in WFI until woken. */
#include <stdio.h>

#include "arch/arch.h"
#include "kernel/block_on.h"
#include "kernel/irq.h"

/*
 * The block waker's vtable.  The data is the struct block_waker; a clone
 * names the same one, so clone takes a reference and wake/drop give one
 * back.  wake_by_ref only sets the flag: the caller's waker stays valid.
 */
static const struct raw_waker_vtable block_vtable;

/* LAB 2 BEGIN */
static struct raw_waker block_clone(const void *data)
{
	struct block_waker *bw = (struct block_waker *)data;
	atomic_fetch_add_explicit(&bw->refs, 1, memory_order_relaxed);
	return (struct raw_waker){ data, &block_vtable };
}

static void block_wake_by_ref(const void *data)
{
	struct block_waker *bw = (struct block_waker *)data;
	atomic_store_explicit(&bw->woken, 1, memory_order_release);
}

static void block_drop(const void *data)
{
	struct block_waker *bw = (struct block_waker *)data;
	atomic_fetch_sub_explicit(&bw->refs, 1, memory_order_release);
}

static void block_wake(const void *data)
{
	block_wake_by_ref(data);
	block_drop(data);
}
/* LAB 2 STUB
// Stubs: no counting, no flag.  block_on still works for futures woken
// from an interrupt (the interrupt ends its WFI), but a future woken any
// other way is polled again only at the next interrupt.
static void block_todo(const char *fn)
{
	static int said;
	if (!said) {
		said = 1;
		printf("LAB 2: implement %s (kernel/block_on.c)\n", fn);
	}
}

static struct raw_waker block_clone(const void *data)
{
	block_todo("block_clone, block_wake, block_wake_by_ref, block_drop");
	return (struct raw_waker){ data, &block_vtable };
}

static void block_wake_by_ref(const void *data)
{
	(void)data;
	block_todo("block_clone, block_wake, block_wake_by_ref, block_drop");
}

static void block_drop(const void *data)
{
	(void)data;
	block_todo("block_clone, block_wake, block_wake_by_ref, block_drop");
}

static void block_wake(const void *data)
{
	(void)data;
	block_todo("block_clone, block_wake, block_wake_by_ref, block_drop");
}
   LAB 2 END */

static const struct raw_waker_vtable block_vtable = {
	.clone = block_clone,
	.wake = block_wake,
	.wake_by_ref = block_wake_by_ref,
	.drop = block_drop,
};

struct waker block_waker_new(struct block_waker *bw)
{
	atomic_store_explicit(&bw->refs, 1, memory_order_relaxed);
	atomic_store_explicit(&bw->woken, 0, memory_order_relaxed);
	return (struct waker){ { bw, &block_vtable } };
}

/* One per hart: two harts may each block on something at once. */
static struct block_waker block_states[SMP_MAX];

void block_on_all(struct future *const *fs, size_t n)
{
	struct block_waker *bs = &block_states[arch_hart_id()];
	struct waker w = block_waker_new(bs);
	struct context cx = { &w };
	/* A Ready future must not be polled again, so each round skips the
	 * ones marked done.  The marks live on the stack, hence groups of
	 * at most CHUNK futures driven together, one group after another. */
	enum { CHUNK = 512 };
	for (size_t base = 0; base < n; base += CHUNK) {
		size_t m = n - base < CHUNK ? n - base : CHUNK;
		unsigned char done[CHUNK] = { 0 };
		size_t left = m;
		while (left) {
			/* Clear before polling: a wake during the round is
			 * then not lost. */
			atomic_store(&bs->woken, 0);
			for (size_t i = 0; i < m; i++) {
				if (done[i])
					continue;
				if (future_poll(fs[base + i], &cx) == POLL_READY) {
					done[i] = 1;
					left--;
				}
			}
			if (!left)
				break;
			unsigned long f = arch_irq_save();
			irq_wait_begin(); /* a device on another hart IPIs us */
			if (!atomic_load(&bs->woken))
				arch_wait_for_interrupt();
			irq_wait_end();
			arch_irq_restore(f);
		}
	}
	waker_drop(&w);
}

void block_on(struct future *f)
{
	block_on_all(&f, 1);
}
