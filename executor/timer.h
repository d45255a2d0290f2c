/* Hierarchical timing wheel and the timer futures built on it: sleep, timeout, interval. */
#ifndef EXECUTOR_TIMER_H
#define EXECUTOR_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "future.h"
#include "spin.h"

/*
 * The wheel
 * ---------
 * Time is kept in nanoseconds (uint64_t) by callers and in ticks inside the
 * wheel: one tick is 2^tick_shift ns (default 2^20 ns, about 1.05 ms; the
 * kernel may pick a finer shift).  A deadline is rounded *up* to a tick
 * boundary, and the wheel's clock is the *floor* of the last `now` passed to
 * timer_wheel_advance, so an entry fires on the first advance whose now is
 * at or past its rounded-up deadline, and never before its real deadline.
 *
 * Levels: TIMER_LEVELS levels of 64 slots.  An entry lives at the level of
 * the highest 6-bit digit in which its deadline differs from the wheel's
 * clock, in the slot named by that digit of its deadline (Tokio's layout).
 * Level 0 slots hold exactly one tick each; a level-k slot spans 64^k ticks
 * and is "cascaded" (its entries re-filed one or more levels down) when the
 * clock reaches its start.  Eleven levels cover all 64 bits of tick, so
 * there is no overflow list even with tick_shift = 0.
 *
 * Cost: insert and cancel are O(1) (an intrusive doubly linked slot list
 * plus a 64-bit occupancy word per level); advance is O(levels) per
 * occupied slot it reaches plus O(1) per entry fired or cascaded (an entry
 * cascades at most once per level); next_deadline is O(1) from a cached
 * minimum, which insert keeps exact and which only removing the earliest
 * entry invalidates; recomputing it is O(levels), plus a walk of one slot
 * when the earliest occupied slot is above level 0.
 *
 * Locking: every wheel operation takes w->lock, a struct spin that masks
 * interrupts, so the timer interrupt handler may advance while tasks on
 * other harts insert and cancel.  No waker vtable function is called with
 * the lock held: advance moves fired wakers into a small on-stack batch and
 * wakes them after unlocking; poll clones a waker before relocking.  Lock
 * order: the wheel lock is taken before any channel/sync lock, never after.
 */
#define TIMER_LEVELS 11
#define TIMER_SLOTS 64
#define TIMER_DEFAULT_SHIFT 20
/* A deadline that never comes: sleeping until it stays pending forever. */
#define TIMER_NEVER UINT64_MAX

#define TIMER_NS(x) ((uint64_t)(x))
#define TIMER_US(x) ((uint64_t)(x) * 1000ull)
#define TIMER_MS(x) ((uint64_t)(x) * 1000000ull)
#define TIMER_SEC(x) ((uint64_t)(x) * 1000000000ull)

enum timer_state {
	TIMER_IDLE = 0,  /* not in the wheel, not fired */
	TIMER_QUEUED,    /* linked into a slot, waker stored */
	TIMER_FIRED,     /* deadline reached; waker taken (and woken) */
};

/* An intrusive wheel entry.  Embedded in the future that waits (struct
 * sleep); the wheel never allocates.  All fields but `polled` belong to
 * the wheel lock; `polled` is touched only by the entry's owner. */
struct timer_entry {
	struct timer_entry *next;
	struct timer_entry **pprev;   /* the pointer that points at us */
	uint64_t tick;                /* deadline, in ticks, rounded up */
	struct waker waker;
	uint8_t level, slot;
	uint8_t state;                /* enum timer_state */
	uint8_t polled;               /* owner only: polled since init/cancel */
};

struct timer_wheel {
	struct spin lock;
	unsigned shift;               /* tick = 2^shift ns */
	uint64_t elapsed;             /* clock, in ticks: everything <= is fired */
	_Atomic unsigned count;       /* entries queued (changed under the
	                                 lock, read without it) */
	uint64_t next_tick;           /* cached minimum queued tick, if valid */
	uint8_t next_valid;
	uint64_t occupied[TIMER_LEVELS];
	struct timer_entry *slots[TIMER_LEVELS][TIMER_SLOTS];
	/* Optional (NULL after init): called, without the lock, after an
	 * insert that may have made the earliest deadline earlier, so an
	 * executor whose idle workers programmed the old one can react. */
	void (*on_earlier)(void *arg);
	void *on_earlier_arg;
};

/* Initialise an empty wheel whose clock reads now_ns, ticks of 2^20 ns. */
void timer_wheel_init(struct timer_wheel *w, uint64_t now_ns);
/* The same with a chosen resolution: one tick is 2^tick_shift ns (< 64). */
void timer_wheel_init_shift(struct timer_wheel *w, uint64_t now_ns,
                            unsigned tick_shift);

/* Moves the clock to now_ns (never backwards) and fires every entry whose
 * rounded deadline is <= now_ns: marks it fired and wakes its waker (after
 * dropping the lock).  Returns how many fired.  Callable from a trap
 * handler, from any hart, concurrently with every other wheel function. */
unsigned timer_wheel_advance(struct timer_wheel *w, uint64_t now_ns);

/* A time at which advance will fire at least one entry, with no entry due
 * earlier: the earliest pending deadline rounded up to its tick boundary.
 * UINT64_MAX if nothing is pending.  O(1) while the earliest entry stays;
 * else O(levels) plus one slot walk. */
uint64_t timer_wheel_next_deadline(struct timer_wheel *w);

/* The wheel's clock in ns: the last advance's now rounded down to a tick.
 * The executor does not advance an empty wheel, so after a time with no
 * timer queued this lags the now_ns hook's clock: a deadline already past
 * in real time may then read as future (its entry is queued and fires at
 * the next advance, instead of being Ready at once). */
uint64_t timer_wheel_now(struct timer_wheel *w);

/* Number of entries currently queued, O(1), without the lock: exact
 * when nobody is inserting or cancelling; 0 means nothing to fire (the
 * executor skips its advance then). */
static inline unsigned timer_wheel_pending(struct timer_wheel *w)
{
	return atomic_load_explicit(&w->count, memory_order_relaxed);
}

/*
 * Low-level entry API, for futures other than sleep (drivers' deadlines).
 *
 * timer_entry_poll: if the entry fired, or its deadline (ns) is already
 * past on the wheel's clock, marks it fired and returns POLL_READY;
 * otherwise makes sure it is queued with a clone of cx->waker and returns
 * POLL_PENDING.  TIMER_NEVER stays pending without queuing.  The deadline
 * must stay the same across polls of one entry (timer_entry_cancel first
 * to change it).
 * timer_entry_cancel: O(1) removal, drops the stored waker; afterwards the
 * entry is idle and may be polled again or freed.
 * Safety: an entry must be cancelled (or have fired) before its memory is
 * reused; the wheel must outlive every queued entry.
 */
void timer_entry_init(struct timer_entry *e);
enum poll timer_entry_poll(struct timer_wheel *w, struct timer_entry *e,
                           uint64_t deadline_ns, struct context *cx);
void timer_entry_cancel(struct timer_wheel *w, struct timer_entry *e);

/* Cancel every queued entry (timer_entry_cancel on each: unlinked, its
 * waker dropped, idle).  Returns how many there were.  For starting over
 * with futures that will never be polled or dropped again (a test
 * harness between tests); the entries' memory must still be valid. */
unsigned timer_wheel_cancel_all(struct timer_wheel *w);

/* ---- sleep -------------------------------------------------------------
 * A future that is ready once the wheel's clock reaches deadline_ns.  Its
 * first member is struct future, so `(struct future *)&s` can be spawned
 * or awaited generically; sleep_poll is the typed fast path for AWAIT.
 * Cancel-safe: sleep_drop unlinks in O(1) and drops the stored waker. */
struct sleep {
	struct future base;
	struct timer_wheel *wheel;
	uint64_t deadline;            /* ns */
	struct timer_entry entry;
};

/* sleep_until: ready at deadline_ns (absolute, the wheel's time base). */
void sleep_init(struct sleep *s, struct timer_wheel *w, uint64_t deadline_ns);
/* Ready dur_ns after now_ns (saturating: huge durations never fire). */
void sleep_for(struct sleep *s, struct timer_wheel *w, uint64_t now_ns,
               uint64_t dur_ns);
enum poll sleep_poll(struct sleep *s, struct context *cx);
/* Cancel and forget; the sleep may be re-initialised afterwards. */
void sleep_drop(struct sleep *s);
/* Cancel, then wait for a new deadline (one call instead of drop + init). */
void sleep_reset(struct sleep *s, uint64_t deadline_ns);
extern const struct future_vtable sleep_future_vtable;

/* ---- timeout -----------------------------------------------------------
 * Runs `inner` with a deadline.  Each poll polls inner first (so a future
 * that is ready at the deadline still wins), then the sleep.  Ready with
 * result TIMEOUT_OK (inner finished; its output is in inner) or
 * TIMEOUT_ELAPSED (inner has been dropped).  timeout_drop drops both. */
enum timeout_result {
	TIMEOUT_PENDING = 0,
	TIMEOUT_OK = 1,
	TIMEOUT_ELAPSED = 2,
};

struct timeout {
	struct future base;
	struct future *inner;
	struct sleep sleep;
	int result;                   /* enum timeout_result */
};

void timeout_init(struct timeout *t, struct future *inner,
                  struct timer_wheel *w, uint64_t deadline_ns);
enum poll timeout_poll(struct timeout *t, struct context *cx);
void timeout_drop(struct timeout *t);
extern const struct future_vtable timeout_future_vtable;

/* ---- interval ----------------------------------------------------------
 * Ticks at start, start + period, start + 2*period, ...: each deadline is
 * computed from the previous deadline, never from when the task ran, so
 * ticks do not drift.  interval_tick_poll is ready once per tick.
 *
 * Missed ticks (the task ran late by one period or more):
 *   INTERVAL_BURST  every missed tick is still delivered, back to back,
 *                   until the schedule has caught up (Tokio's default).
 *   INTERVAL_SKIP   missed ticks are dropped and counted in iv->missed;
 *                   the next tick is the first point of the original grid
 *                   after the wheel's clock (the phase is kept).
 * Policy matters only when a task falls behind; on time, both are equal. */
enum interval_policy {
	INTERVAL_BURST = 0,
	INTERVAL_SKIP = 1,
};

struct interval {
	struct future base;
	uint64_t period;
	uint64_t ticks;               /* ticks delivered */
	uint64_t missed;              /* ticks skipped (SKIP policy) */
	uint64_t last;                /* deadline of the last tick delivered */
	int policy;
	struct sleep sleep;           /* sleep.deadline is the next tick */
};

/* Precondition: period_ns > 0. */
void interval_init(struct interval *iv, struct timer_wheel *w,
                   uint64_t start_ns, uint64_t period_ns, int policy);
/* Ready once per tick; interval_last(iv) then names that tick's deadline. */
enum poll interval_tick_poll(struct interval *iv, struct context *cx);
/* The deadline of the tick most recently delivered. */
uint64_t interval_last(const struct interval *iv);
void interval_drop(struct interval *iv);

#endif /* EXECUTOR_TIMER_H */
