/* The recording fake hooks and test futures used by test_exec*.c / test_task*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_exec_fake.h"

struct fx fx;
int fx_live_allocs;

void fx_trace(const char *fmt, ...)
{
	va_list ap;
	if (fx.len && fx.len < sizeof(fx.trace) - 1)
		fx.trace[fx.len++] = ' ';
	va_start(ap, fmt);
	int n = vsnprintf(fx.trace + fx.len, sizeof(fx.trace) - fx.len, fmt, ap);
	va_end(ap);
	if (n > 0)
		fx.len += (size_t)n;
	if (fx.len >= sizeof(fx.trace))
		fx.len = sizeof(fx.trace) - 1;
}

const char *fx_get(void)
{
	return fx.trace;
}

static uint64_t fx_now(void *ctx)
{
	(void)ctx;
	return fx.now;
}

static void fx_park(void *ctx, unsigned w, uint64_t dl)
{
	(void)ctx;
	if (dl == UINT64_MAX)
		fx_trace("park(%u,inf)", w);
	else
		fx_trace("park(%u,%llu)", w, (unsigned long long)dl);
	if (dl != UINT64_MAX && dl > fx.now)
		fx.now = dl;
	if (fx.on_park) {
		void (*fn)(unsigned) = fx.on_park;
		fx.on_park = NULL;	/* one event per arming */
		fx_irq_enter();
		fn(w);
		fx_irq_exit();
	} else if (dl == UINT64_MAX && ++fx.idle_parks > 3) {
		fprintf(stderr, "fake hooks: parked forever; trace: %s\n", fx.trace);
		abort();
	}
}

static void fx_unpark(void *ctx, unsigned w)
{
	(void)ctx;
	if (fx.trace_unpark)
		fx_trace("unpark(%u)", w);
}

void fx_irq_enter(void)
{
	fx.irq_saved = exec_interrupt_enter();
	fx.in_irq = true;
}

void fx_irq_exit(void)
{
	fx.in_irq = false;
	exec_interrupt_exit(fx.irq_saved);
}

void fx_init(struct executor *e, unsigned nworkers, unsigned flags)
{
	memset(&fx, 0, sizeof(fx));
	fx.now = 1000;
	fx.trace_unpark = true;
	fx.hooks.now_ns = fx_now;
	fx.hooks.park = fx_park;
	fx.hooks.unpark = fx_unpark;
	fx.e = e;
	exec_init(e, &fx.hooks, nworkers, flags);
}

static enum poll fx_fut_poll(struct future *base, struct context *cx)
{
	struct fx_fut *f = (struct fx_fut *)base;
	fx_trace("poll %s", f->name);
	f->polls++;
	if (f->wake_other)
		fx_fut_wake(f->wake_other);
	if (f->pends-- <= 0) {
		waker_drop(&f->w);	/* a finished future keeps no waker */
		if (f->wake_other)
			f->wake_other->wake_other = NULL;	/* we are gone */
		return POLL_READY;
	}
	if (f->yield)
		waker_wake_by_ref(cx->waker);
	else
		waker_register(&f->w, cx->waker);
	return POLL_PENDING;
}

static void fx_fut_drop(struct future *base)
{
	struct fx_fut *f = (struct fx_fut *)base;
	fx_trace("drop %s", f->name);
	waker_drop(&f->w);
}

static const struct future_vtable fx_fut_vtable = { fx_fut_poll, fx_fut_drop };

void fx_fut_init(struct fx_fut *f, const char *name, int pends, int out)
{
	memset(f, 0, sizeof(*f));
	f->base.vtable = &fx_fut_vtable;
	f->name = name;
	f->pends = pends;
	f->out = out;
	f->w = WAKER_NONE;
}

void fx_fut_wake(struct fx_fut *f)
{
	if (!waker_is_none(&f->w))
		fx_trace("wake %s", f->name);
	waker_wake(&f->w);
}

static void *fx_alloc(struct task_src *src, size_t size)
{
	(void)src;
	fx_live_allocs++;
	return malloc(size);
}

static void fx_free(struct task_src *src, void *p, size_t size)
{
	(void)src;
	(void)size;
	fx_live_allocs--;
	free(p);
}

struct task_src fx_src = { fx_alloc, fx_free };

struct fx_fut *fx_spawn(struct executor *e, const struct fx_fut *f,
                        struct join_handle *jh)
{
	struct task_desc d = TASK_DESC(*f, out, f->name);
	if (task_spawn(e, &fx_src, &d, jh) != TASK_OK)
		return NULL;
	/* The task's copy sits at the core offset; find it via the handle or
	 * by the registry head (the newest task). */
	struct exec_worker *w = exec_current(e);
	struct task *t = w ? w->reg.head : e->reg_head;
	return (struct fx_fut *)t->future;
}
