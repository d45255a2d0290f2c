/* The small I/O futures that belong to no file: sleeping and yielding. */
#include "kernel/io.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"

/* LAB 6 BEGIN */
static enum poll io_sleep_poll(struct future *f, struct context *cx)
{
	struct io_sleep *s = (struct io_sleep *)f;
	return sleep_poll(&s->nap, cx);
}

static void io_sleep_drop(struct future *f)
{
	sleep_drop(&((struct io_sleep *)f)->nap);
}

static const struct future_vtable io_sleep_vtable = { io_sleep_poll, io_sleep_drop };

void io_sleep_init(struct io_sleep *s, uint64_t ns, int64_t result)
{
	s->io = (struct io_future){ .base = { &io_sleep_vtable }, .result = result };
	sleep_for(&s->nap, exec_wheel(&kernel_exec), ktimer_now_ns(), ns);
}
/* LAB 6 STUB
// LAB 6: a sleep on the kernel's timer wheel as an I/O future: init puts
// a `struct sleep` in s->nap, poll polls it, drop takes it off the wheel
// (docs/labs/lab6.md).  Until then it is Ready at once.
static enum poll io_sleep_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	return POLL_READY;
}

static void io_sleep_drop(struct future *f)
{
	(void)f;
}

static const struct future_vtable io_sleep_vtable = { io_sleep_poll, io_sleep_drop };

void io_sleep_init(struct io_sleep *s, uint64_t ns, int64_t result)
{
	(void)ns;
	s->io = (struct io_future){ .base = { &io_sleep_vtable }, .result = result };
}
   LAB 6 END */

static enum poll io_yield_poll(struct future *f, struct context *cx)
{
	struct io_yield *y = (struct io_yield *)f;
	if (y->yielded)
		return POLL_READY;
	y->yielded = true;
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static void io_yield_drop(struct future *f)
{
	(void)f;
}

static const struct future_vtable io_yield_vtable = { io_yield_poll, io_yield_drop };

void io_yield_init(struct io_yield *y)
{
	*y = (struct io_yield){ .io = { .base = { &io_yield_vtable } } };
}
