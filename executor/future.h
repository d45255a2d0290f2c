/* Futures, contexts and wakers: Rust's core::task model in C. */
#ifndef EXECUTOR_FUTURE_H
#define EXECUTOR_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Poll ---------------------------------------------------------------*/

/* The answer of every poll.  Pending is 0 so that a zeroed value is "not
 * done yet". */
enum poll {
	POLL_PENDING = 0,
	POLL_READY = 1,
};

/* ---- Wakers -------------------------------------------------------------
 *
 * A waker is a (data, vtable) pair: whoever made it decides what "wake"
 * means.  The executor's wakers point at a task; a test's waker may count
 * calls; another executor's waker does what that executor needs.  Leaf
 * futures (timers, channels, drivers) never look inside: they only clone,
 * wake and drop, so they work with any waker.
 *
 * Ownership (the same rules as Rust's RawWaker / RawWakerVTable):
 *
 *   clone(data)        Returns a new raw waker that wakes the same thing.
 *                      Both the original and the clone must each be
 *                      consumed exactly once, by wake or drop.  Everything
 *                      the data needs to stay valid (a reference count,
 *                      say) must be taken here.
 *   wake(data)         Wakes, then releases the resources of this waker:
 *                      it consumes it.  Do not use the waker afterwards.
 *   wake_by_ref(data)  Wakes without consuming; the waker stays valid.
 *   drop(data)         Releases the waker without waking.
 *
 * Every function must be callable from any thread, and in the kernel from
 * a trap handler with interrupts masked: no blocking, no allocation, no
 * lock that the interrupted code might hold.  Waking something that has
 * already finished, or waking twice, must be harmless; a waker may outlive
 * the task it names (the data must keep enough alive to say "gone").
 */
struct raw_waker;

struct raw_waker_vtable {
	struct raw_waker (*clone)(const void *data);
	void (*wake)(const void *data);
	void (*wake_by_ref)(const void *data);
	void (*drop)(const void *data);
};

struct raw_waker {
	const void *data;
	const struct raw_waker_vtable *vtable;
};

/* A waker owns one raw waker.  Pass by pointer; copy only with
 * waker_clone (a plain struct copy does not take a reference). */
struct waker {
	struct raw_waker raw;
};

/* A waker that owns nothing.  Storing one in a struct that a waker may
 * later be moved into lets drop/replace code treat "no waker" uniformly. */
#define WAKER_NONE ((struct waker){ { NULL, NULL } })

static inline bool waker_is_none(const struct waker *w)
{
	return w->raw.vtable == NULL;
}

/* A new waker for the same target; consume it later with wake or drop. */
static inline struct waker waker_clone(const struct waker *w)
{
	struct waker c = { w->raw.vtable->clone(w->raw.data) };
	return c;
}

/* Wake and consume *w; it becomes WAKER_NONE.  Safe on WAKER_NONE. */
static inline void waker_wake(struct waker *w)
{
	struct raw_waker r = w->raw;
	*w = WAKER_NONE;
	if (r.vtable)
		r.vtable->wake(r.data);
}

/* Wake without consuming. */
static inline void waker_wake_by_ref(const struct waker *w)
{
	if (w->raw.vtable)
		w->raw.vtable->wake_by_ref(w->raw.data);
}

/* Release *w without waking; it becomes WAKER_NONE.  Safe on WAKER_NONE. */
static inline void waker_drop(struct waker *w)
{
	struct raw_waker r = w->raw;
	*w = WAKER_NONE;
	if (r.vtable)
		r.vtable->drop(r.data);
}

/* True if a and b certainly wake the same thing (same data and vtable).
 * False negatives are allowed, as in Rust; use it to skip a clone. */
static inline bool waker_will_wake(const struct waker *a, const struct waker *b)
{
	return a->raw.data == b->raw.data && a->raw.vtable == b->raw.vtable;
}

/* Store a clone of `from` in *slot unless *slot already wakes the same
 * thing; drops the waker it replaces.  The common "register interest"
 * step of every leaf future.  Not atomic: the caller serialises access to
 * *slot (a lock, or interrupts masked). */
static inline void waker_register(struct waker *slot, const struct waker *from)
{
	if (!waker_is_none(slot) && waker_will_wake(slot, from))
		return;
	struct waker old = *slot;
	*slot = waker_clone(from);
	waker_drop(&old);
}

/* A waker whose every operation does nothing; for tests and for polling
 * a future once without wanting a wake-up. */
const struct waker *waker_noop(void);

/* ---- Context ------------------------------------------------------------*/

/* What a poll receives: the waker of the task being polled.  Borrowed for
 * the duration of the poll; clone it to keep it. */
struct context {
	const struct waker *waker;
};

/* ---- Futures ------------------------------------------------------------
 *
 * A future is a struct whose first member is `struct future`.  Its poll
 * either finishes (POLL_READY, the output now in the struct) or returns
 * POLL_PENDING after arranging for cx->waker (cloned) to be woken when
 * progress is possible.  A future must not be moved in memory once polled
 * (wakers and queues may point into it: Rust's Pin), and must not be polled
 * again after it returned POLL_READY.
 *
 * drop releases whatever the future holds in its current state (registered
 * wakers, a channel slot, a lock).  It runs when a task is cancelled or a
 * parent future is dropped before completion; it may be NULL if there is
 * nothing to release.  After drop the future is dead.
 */
struct future;

struct future_vtable {
	enum poll (*poll)(struct future *self, struct context *cx);
	void (*drop)(struct future *self);
};

struct future {
	const struct future_vtable *vtable;
};

static inline enum poll future_poll(struct future *f, struct context *cx)
{
	return f->vtable->poll(f, cx);
}

static inline void future_drop(struct future *f)
{
	if (f->vtable->drop)
		f->vtable->drop(f);
}

/* ---- Async functions -----------------------------------------------------
 *
 * The state machine Rust generates from `async fn`, written by hand with
 * four macros.  The struct holds `int state` plus every local that lives
 * across an await; the poll function is one switch on `state`:
 *
 *     struct hello { struct future base; int state; struct sleep s; int i; };
 *
 *     static enum poll hello_poll(struct future *f, struct context *cx)
 *     {
 *         struct hello *h = (struct hello *)f;
 *         ASYNC_BEGIN(h);
 *         for (h->i = 0; h->i < 3; h->i++) {
 *             sleep_for(&h->s, wheel, now_ns(), TIMER_MS(10));
 *             AWAIT(h, sleep_poll(&h->s, cx));
 *         }
 *         ASYNC_END(h);
 *     }
 *
 * Rules: (1) no C local variable survives an AWAIT or YIELD (keep it in the
 * struct); (2) no AWAIT or YIELD inside a nested `switch`; (3) at most one
 * AWAIT or YIELD per source line; (4) state starts at 0 (ASYNC_INIT).
 * See docs/executor.md for the side-by-side with Rust.
 */
#define ASYNC_INIT 0
#define ASYNC_DONE (-1)

#define ASYNC_BEGIN(sm)          \
	switch ((sm)->state) {   \
	case ASYNC_INIT:

/* Suspend until `poll_expr` (an enum poll) is POLL_READY.  The expression
 * is evaluated again each time the task is polled at this point. */
#define AWAIT(sm, poll_expr)                                  \
	do {                                                  \
		(sm)->state = __LINE__;                       \
		__attribute__((fallthrough));                 \
	case __LINE__:                                        \
		if ((poll_expr) == POLL_PENDING)              \
			return POLL_PENDING;                  \
	} while (0)

/* Give other tasks a turn: wake ourselves and return Pending once. */
#define YIELD(sm, cx)                                         \
	do {                                                  \
		(sm)->state = __LINE__;                       \
		waker_wake_by_ref((cx)->waker);               \
		return POLL_PENDING;                          \
	case __LINE__:;                                       \
	} while (0)

/* Finish: the future is Ready.  Polling it again trips the default arm. */
#define ASYNC_END(sm)                                         \
		(sm)->state = ASYNC_DONE;                     \
		return POLL_READY;                            \
	default:                                              \
		return async_resumed_after_done();            \
	}

/* Return early with Ready from inside an async body. */
#define ASYNC_RETURN(sm)                                      \
	do {                                                  \
		(sm)->state = ASYNC_DONE;                     \
		return POLL_READY;                            \
	} while (0)

/* Asserts: polling a finished async function is a bug. */
enum poll async_resumed_after_done(void);

#endif /* EXECUTOR_FUTURE_H */
