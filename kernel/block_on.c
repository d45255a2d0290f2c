/* Drive futures to completion without an executor: poll, sleep in WFI until woken. */
#include "arch/arch.h"
#include "kernel/block_on.h"

static volatile int woken;

/* The waker's data is unused: there is one flag.  clone hands back the
 * same raw waker because there is nothing to count. */
static struct raw_waker flag_clone(const void *data);

static void flag_wake(const void *data)
{
	(void)data;
	woken = 1;
}

static void flag_drop(const void *data)
{
	(void)data;
}

static const struct raw_waker_vtable flag_vtable = {
	.clone = flag_clone,
	.wake = flag_wake,
	.wake_by_ref = flag_wake,
	.drop = flag_drop,
};

static struct raw_waker flag_clone(const void *data)
{
	return (struct raw_waker){ data, &flag_vtable };
}

void block_on_all(struct future *const *fs, size_t n)
{
	struct waker w = { { NULL, &flag_vtable } };
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
			woken = 0;
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
			if (!woken)
				arch_wait_for_interrupt();
			arch_irq_restore(f);
		}
	}
}

void block_on(struct future *f)
{
	block_on_all(&f, 1);
}
