/* Hierarchical timing wheel (11 levels x 64 slots) and sleep, timeout, interval. */
#include "timer.h"

/* Wakers collected under the lock and woken after it is dropped.  Small,
 * because advance may run on a trap handler's stack. */
#define TIMER_BATCH 16

static uint64_t tick_mask(const struct timer_wheel *w)
{
	return ((uint64_t)1 << w->shift) - 1;
}

/* True for TIMER_NEVER, and for any deadline that no `now` can reach
 * once rounded up to a tick. */
static bool is_never(const struct timer_wheel *w, uint64_t deadline_ns)
{
	return deadline_ns == TIMER_NEVER ||
	       deadline_ns > (UINT64_MAX & ~tick_mask(w));
}

/* Precondition: !is_never(w, ns), so the rounding cannot overflow. */
static uint64_t ns_to_tick_up(const struct timer_wheel *w, uint64_t ns)
{
	return (ns >> w->shift) + ((ns & tick_mask(w)) != 0);
}

/* LAB 4 BEGIN */
/* The level at which an entry due at `tick` (> elapsed) is filed: the
 * 6-bit digit of the highest bit in which it differs from the clock. */
static unsigned level_for(uint64_t elapsed, uint64_t tick)
{
	uint64_t diff = elapsed ^ tick;
	unsigned significant = 63u - (unsigned)__builtin_clzll(diff);
	return significant / 6u;
}

/* Caller holds w->lock.  Precondition: e->tick > w->elapsed. */
static void wheel_insert(struct timer_wheel *w, struct timer_entry *e)
{
	unsigned level = level_for(w->elapsed, e->tick);
	unsigned slot = (unsigned)(e->tick >> (6u * level)) & (TIMER_SLOTS - 1);
	struct timer_entry **head = &w->slots[level][slot];

	e->level = (uint8_t)level;
	e->slot = (uint8_t)slot;
	e->next = *head;
	if (e->next)
		e->next->pprev = &e->next;
	e->pprev = head;
	*head = e;
	w->occupied[level] |= (uint64_t)1 << slot;
	w->count++;
	if (w->next_valid && e->tick < w->next_tick)
		w->next_tick = e->tick;
}
/* LAB 4 STUB
// Stub: there is no wheel yet.  The entry "fires" at once: marked fired
// and its waker woken, so every sleep ends on its next poll, too early.
// Caller holds w->lock.  Precondition: e->tick > w->elapsed.
static void wheel_insert(struct timer_wheel *w, struct timer_entry *e)
{
	EXEC_LAB_TODO("LAB 4: implement wheel_insert (executor/timer.c)");
	(void)w;
	e->state = TIMER_FIRED;
	waker_wake(&e->waker);
}
   LAB 4 END */

/* Caller holds w->lock.  O(1): the entry knows the pointer to it. */
/* LAB 4 BEGIN */
static void wheel_unlink(struct timer_wheel *w, struct timer_entry *e)
{
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
	if (!w->slots[e->level][e->slot])
		w->occupied[e->level] &= ~((uint64_t)1 << e->slot);
	e->next = NULL;
	e->pprev = NULL;
	if (--w->count == 0) {
		w->next_tick = UINT64_MAX;      /* empty: known, as for a new wheel */
		w->next_valid = 1;
	} else if (e->tick == w->next_tick) {
		w->next_valid = 0;      /* maybe the minimum left: recompute */
	}
}
/* LAB 4 STUB
static void wheel_unlink(struct timer_wheel *w, struct timer_entry *e)
{
	// Stub: nothing is ever linked (see wheel_insert).
	EXEC_LAB_TODO("LAB 4: implement wheel_unlink (executor/timer.c)");
	(void)w;
	e->next = NULL;
	e->pprev = NULL;
}
   LAB 4 END */

/* The index of the lowest set bit of m (m != 0).  A de Bruijn multiply:
 * a handful of instructions on every target, where __builtin_ctzll is a
 * libgcc loop on one without a count-zeros instruction (rv64imac). */
static unsigned ctz64(uint64_t m)
{
	static const uint8_t index[64] = {
		0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4,
		62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
		63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
		46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6,
	};
	return index[((m & -m) * 0x03f79d71b4cb0a89ull) >> 58];
}

/*
 * The occupied slot that the clock reaches first, and the tick at which
 * it starts.  At every level the occupied slots are at or after the
 * clock's own digit (a slot is emptied when the clock reaches it), and an
 * occupied slot at level k starts after everything at levels below k, so
 * the smallest start wins.  The clock's own slot can be occupied only
 * while another advance is between batches; it then starts at or before
 * the clock and is picked first.  Caller holds w->lock.
 */
static bool wheel_next_slot(const struct timer_wheel *w, unsigned *level_out,
                            unsigned *slot_out, uint64_t *start_out)
{
	bool found = false;

	if (!atomic_load_explicit(&w->count, memory_order_relaxed))
		return false;	/* empty: the common last look of an advance */
	/* The cached minimum, when it lies in the clock's own level-0 block
	 * (one tick per slot there), names the slot to take first: no scan.
	 * (Only a higher level's slot that holds the clock could start
	 * earlier; it holds no entry due before the minimum, so taking it
	 * second fires nothing late.) */
	if (w->next_valid) {
		uint64_t t = w->next_tick;
		if ((t >> 6) == (w->elapsed >> 6) && (w->occupied[0] >> (t & 63)) & 1) {
			*level_out = 0;
			*slot_out = (unsigned)(t & 63);
			*start_out = t;
			return true;
		}
	}
	for (unsigned level = 0; level < TIMER_LEVELS; level++) {
		uint64_t m = w->occupied[level];
		if (!m)
			continue;
		unsigned shift = 6u * level;
		unsigned cur = (unsigned)(w->elapsed >> shift) & (TIMER_SLOTS - 1);
		m &= ~(((uint64_t)1 << cur) - 1);
		EXEC_ASSERT(m != 0);
		if (!m)
			continue;
		unsigned slot = ctz64(m);
		unsigned above = shift + 6u;
		uint64_t base = above >= 64 ? 0 : w->elapsed & ~(((uint64_t)1 << above) - 1);
		uint64_t start = base + ((uint64_t)slot << shift);
		if (!found || start < *start_out) {
			found = true;
			*level_out = level;
			*slot_out = slot;
			*start_out = start;
		}
	}
	return found;
}

void timer_wheel_init_shift(struct timer_wheel *w, uint64_t now_ns,
                            unsigned tick_shift)
{
	EXEC_ASSERT(tick_shift < 64);
	spin_init(&w->lock);
	w->shift = tick_shift;
	w->elapsed = now_ns >> tick_shift;
	w->count = 0;
	w->next_tick = UINT64_MAX;
	w->next_valid = 1;
	w->on_earlier = NULL;
	w->on_earlier_arg = NULL;
	for (unsigned l = 0; l < TIMER_LEVELS; l++) {
		w->occupied[l] = 0;
		for (unsigned s = 0; s < TIMER_SLOTS; s++)
			w->slots[l][s] = NULL;
	}
}

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ns)
{
	timer_wheel_init_shift(w, now_ns, TIMER_DEFAULT_SHIFT);
}

/* LAB 4 BEGIN */
static void wake_batch(struct waker *batch, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		waker_wake(&batch[i]);
}

/*
 * Processes occupied slots in order of their start tick until the next
 * one starts after `target`: due entries fire, the others are re-filed
 * at a lower level (cascade).  The clock steps to each slot's start, so
 * re-filing is relative to the slot being emptied.  When the batch of
 * wakers is full the lock is dropped to wake them; the wheel is
 * consistent at that point (the half-emptied slot is still linked), so
 * concurrent inserts, cancels and advances are safe.
 */
static __attribute__((noinline))
unsigned wheel_advance_locked(struct timer_wheel *w, uint64_t target,
                              unsigned long flags)
{
	struct waker batch[TIMER_BATCH];
	unsigned n = 0, fired = 0;
	unsigned level, slot;
	uint64_t start;

	while (wheel_next_slot(w, &level, &slot, &start) && start <= target) {
		struct timer_entry *e;
		if (start > w->elapsed)
			w->elapsed = start;
		while ((e = w->slots[level][slot]) != NULL) {
			wheel_unlink(w, e);
			if (e->tick > w->elapsed) {
				wheel_insert(w, e);
				continue;
			}
			e->state = TIMER_FIRED;
			batch[n++] = e->waker;
			e->waker = WAKER_NONE;
			fired++;
			if (n == TIMER_BATCH) {
				spin_unlock(&w->lock, flags);
				wake_batch(batch, n);
				n = 0;
				flags = spin_lock(&w->lock);
			}
		}
	}
	if (target > w->elapsed)
		w->elapsed = target;
	spin_unlock(&w->lock, flags);
	wake_batch(batch, n);
	return fired;
}

/*
 * The common case first: the wheel holds one entry, it is due, and the
 * cached minimum names its level-0 slot (the clock's own block).  That
 * is what the general loop would do for it: step the clock, unlink,
 * fire, find nothing more; here without a scan, a batch, or a second
 * look.  Anything else takes the loop, under the same lock hold.
 */
unsigned timer_wheel_advance(struct timer_wheel *w, uint64_t now_ns)
{
	uint64_t target = now_ns >> w->shift;

	unsigned long flags = spin_lock(&w->lock);
	uint64_t t = w->next_tick;
	/* Nothing due, and the clock stays in its level-0 block: no digit
	 * above level 0 changes, so no slot is passed or reached, and only
	 * the clock moves.  This is what most advances of a worker's turn
	 * find, and the scan of every level is skipped. */
	if (w->next_valid && target < t && (target >> 6) == (w->elapsed >> 6)) {
		if (target > w->elapsed)
			w->elapsed = target;
		spin_unlock(&w->lock, flags);
		return 0;
	}
	if (atomic_load_explicit(&w->count, memory_order_relaxed) == 1 &&
	    w->next_valid && t <= target &&
	    (t >> 6) == (w->elapsed >> 6) && (w->occupied[0] >> (t & 63)) & 1) {
		/* wheel_unlink of the last entry: the wheel is empty after */
		struct timer_entry *e = w->slots[0][t & 63];
		w->slots[0][t & 63] = NULL;
		w->occupied[0] &= ~((uint64_t)1 << (t & 63));
		atomic_store_explicit(&w->count, 0u, memory_order_relaxed);
		w->next_tick = UINT64_MAX;	/* as for a new wheel */
		e->next = NULL;
		e->pprev = NULL;
		if (target > w->elapsed)
			w->elapsed = target;
		e->state = TIMER_FIRED;
		struct waker wk = e->waker;
		e->waker = WAKER_NONE;
		spin_unlock(&w->lock, flags);
		waker_wake(&wk);
		return 1;
	}
	return wheel_advance_locked(w, target, flags);
}
/* LAB 4 STUB
// Stub: moves the clock; fires nothing (nothing is ever queued).
unsigned timer_wheel_advance(struct timer_wheel *w, uint64_t now_ns)
{
	EXEC_LAB_TODO("LAB 4: implement timer_wheel_advance (executor/timer.c)");
	unsigned long flags = spin_lock(&w->lock);
	if ((now_ns >> w->shift) > w->elapsed)
		w->elapsed = now_ns >> w->shift;
	spin_unlock(&w->lock, flags);
	return 0;
}
   LAB 4 END */

uint64_t timer_wheel_next_deadline(struct timer_wheel *w)
{
	unsigned level = 0, slot = 0;
	uint64_t start = 0, tick = UINT64_MAX;

	unsigned long flags = spin_lock(&w->lock);
	if (w->next_valid) {
		tick = w->next_tick;
	} else if (wheel_next_slot(w, &level, &slot, &start)) {
		if (level == 0) {
			/* a level-0 slot holds exactly one tick */
			tick = w->slots[0][slot]->tick;
		} else {
			/* the earliest slot holds the earliest deadline, but
			 * above level 0 its entries differ: take their minimum */
			for (struct timer_entry *e = w->slots[level][slot]; e; e = e->next)
				if (e->tick < tick)
					tick = e->tick;
		}
	}
	w->next_tick = tick;
	w->next_valid = 1;
	unsigned shift = w->shift;
	spin_unlock(&w->lock, flags);
	return tick == UINT64_MAX ? UINT64_MAX : tick << shift;
}

uint64_t timer_wheel_now(struct timer_wheel *w)
{
	unsigned long flags = spin_lock(&w->lock);
	uint64_t now = w->elapsed << w->shift;
	spin_unlock(&w->lock, flags);
	return now;
}

/* ---- entries ----------------------------------------------------------- */

void timer_entry_init(struct timer_entry *e)
{
	e->next = NULL;
	e->pprev = NULL;
	e->tick = 0;
	e->waker = WAKER_NONE;
	e->level = 0;
	e->slot = 0;
	e->state = TIMER_IDLE;
	e->polled = 0;
}

/*
 * The waker is cloned with the lock dropped (a foreign clone may do
 * anything), then the state is re-examined: the loop runs at most twice.
 * The first poll after init or cancel almost always queues the entry, so
 * it clones before taking the lock and saves a lock round trip; the clone
 * is dropped again if the deadline turns out to be past already.
 */
enum poll timer_entry_poll(struct timer_wheel *w, struct timer_entry *e,
                           uint64_t deadline_ns, struct context *cx)
{
	struct waker fresh = WAKER_NONE, old;
	enum poll ret;
	bool never = is_never(w, deadline_ns);
	uint64_t tick = never ? 0 : ns_to_tick_up(w, deadline_ns);

	if (!e->polled) {
		e->polled = 1;
		if (!never)
			fresh = waker_clone(cx->waker);
	}
	for (;;) {
		unsigned long flags = spin_lock(&w->lock);
		if (e->state == TIMER_FIRED) {
			ret = POLL_READY;
		} else if (e->state == TIMER_QUEUED) {
			if (waker_will_wake(&e->waker, cx->waker)) {
				ret = POLL_PENDING;
			} else if (!waker_is_none(&fresh)) {
				old = e->waker;
				e->waker = fresh;
				spin_unlock(&w->lock, flags);
				waker_drop(&old);
				return POLL_PENDING;
			} else {
				spin_unlock(&w->lock, flags);
				fresh = waker_clone(cx->waker);
				continue;
			}
		} else if (never) {
			ret = POLL_PENDING;
		} else if (tick <= w->elapsed) {
			e->state = TIMER_FIRED;
			ret = POLL_READY;
		} else if (!waker_is_none(&fresh)) {
			bool earlier = !w->next_valid || tick < w->next_tick;
			e->tick = tick;
			e->waker = fresh;
			e->state = TIMER_QUEUED;
			wheel_insert(w, e);
			void (*hook)(void *) = w->on_earlier;
			spin_unlock(&w->lock, flags);
			if (earlier && hook)
				hook(w->on_earlier_arg);
			return POLL_PENDING;
		} else {
			spin_unlock(&w->lock, flags);
			fresh = waker_clone(cx->waker);
			continue;
		}
		spin_unlock(&w->lock, flags);
		waker_drop(&fresh);
		return ret;
	}
}

void timer_entry_cancel(struct timer_wheel *w, struct timer_entry *e)
{
	unsigned long flags = spin_lock(&w->lock);
	if (e->state == TIMER_QUEUED)
		wheel_unlink(w, e);
	struct waker old = e->waker;
	e->waker = WAKER_NONE;
	e->state = TIMER_IDLE;
	e->polled = 0;
	spin_unlock(&w->lock, flags);
	waker_drop(&old);
}

/* One entry at a time, the lock dropped in between: each cancel drops a
 * waker, which must not happen under the lock (a drop may free a task). */
unsigned timer_wheel_cancel_all(struct timer_wheel *w)
{
	unsigned n = 0;

	for (;;) {
		struct timer_entry *e = NULL;
		unsigned long flags = spin_lock(&w->lock);
		for (unsigned l = 0; l < TIMER_LEVELS && !e; l++)
			if (w->occupied[l])
				e = w->slots[l][ctz64(w->occupied[l])];
		spin_unlock(&w->lock, flags);
		if (!e)
			return n;
		timer_entry_cancel(w, e);
		n++;
	}
}

/* ---- sleep ------------------------------------------------------------- */

static enum poll sleep_vpoll(struct future *f, struct context *cx)
{
	return sleep_poll((struct sleep *)f, cx);
}

static void sleep_vdrop(struct future *f)
{
	sleep_drop((struct sleep *)f);
}

const struct future_vtable sleep_future_vtable = { sleep_vpoll, sleep_vdrop };

void sleep_init(struct sleep *s, struct timer_wheel *w, uint64_t deadline_ns)
{
	s->base.vtable = &sleep_future_vtable;
	s->wheel = w;
	s->deadline = deadline_ns;
	timer_entry_init(&s->entry);
}

void sleep_for(struct sleep *s, struct timer_wheel *w, uint64_t now_ns,
               uint64_t dur_ns)
{
	uint64_t d = now_ns + dur_ns;
	sleep_init(s, w, d < now_ns ? TIMER_NEVER : d);
}

enum poll sleep_poll(struct sleep *s, struct context *cx)
{
	return timer_entry_poll(s->wheel, &s->entry, s->deadline, cx);
}

void sleep_drop(struct sleep *s)
{
	timer_entry_cancel(s->wheel, &s->entry);
}

void sleep_reset(struct sleep *s, uint64_t deadline_ns)
{
	timer_entry_cancel(s->wheel, &s->entry);
	s->deadline = deadline_ns;
}

/* ---- timeout ----------------------------------------------------------- */

static enum poll timeout_vpoll(struct future *f, struct context *cx)
{
	return timeout_poll((struct timeout *)f, cx);
}

static void timeout_vdrop(struct future *f)
{
	timeout_drop((struct timeout *)f);
}

const struct future_vtable timeout_future_vtable = { timeout_vpoll, timeout_vdrop };

void timeout_init(struct timeout *t, struct future *inner,
                  struct timer_wheel *w, uint64_t deadline_ns)
{
	t->base.vtable = &timeout_future_vtable;
	t->inner = inner;
	sleep_init(&t->sleep, w, deadline_ns);
	t->result = TIMEOUT_PENDING;
}

enum poll timeout_poll(struct timeout *t, struct context *cx)
{
	EXEC_ASSERT(t->result == TIMEOUT_PENDING);
	/* LAB 4 BEGIN */
	if (future_poll(t->inner, cx) == POLL_READY) {
		t->result = TIMEOUT_OK;
		sleep_drop(&t->sleep);
		return POLL_READY;
	}
	if (sleep_poll(&t->sleep, cx) == POLL_READY) {
		t->result = TIMEOUT_ELAPSED;
		future_drop(t->inner);
		sleep_drop(&t->sleep);
		return POLL_READY;
	}
	return POLL_PENDING;
	/* LAB 4 STUB
	// Stub: no time limit; waits for inner however long it takes.
	EXEC_LAB_TODO("LAB 4: implement timeout_poll (executor/timer.c)");
	if (future_poll(t->inner, cx) == POLL_READY) {
		t->result = TIMEOUT_OK;
		sleep_drop(&t->sleep);
		return POLL_READY;
	}
	return POLL_PENDING;
	   LAB 4 END */
}

/* Drops inner unless it finished or was already dropped on expiry. */
void timeout_drop(struct timeout *t)
{
	if (t->result == TIMEOUT_PENDING) {
		future_drop(t->inner);
		t->result = TIMEOUT_ELAPSED;
	}
	sleep_drop(&t->sleep);
}

/* ---- interval ---------------------------------------------------------- */

static enum poll interval_vpoll(struct future *f, struct context *cx)
{
	return interval_tick_poll((struct interval *)f, cx);
}

static void interval_vdrop(struct future *f)
{
	interval_drop((struct interval *)f);
}

static const struct future_vtable interval_future_vtable = {
	interval_vpoll, interval_vdrop
};

void interval_init(struct interval *iv, struct timer_wheel *w,
                   uint64_t start_ns, uint64_t period_ns, int policy)
{
	EXEC_ASSERT(period_ns > 0);
	iv->base.vtable = &interval_future_vtable;
	iv->period = period_ns;
	iv->ticks = 0;
	iv->missed = 0;
	iv->last = 0;
	iv->policy = policy;
	sleep_init(&iv->sleep, w, start_ns);
}

enum poll interval_tick_poll(struct interval *iv, struct context *cx)
{
	if (sleep_poll(&iv->sleep, cx) == POLL_PENDING)
		return POLL_PENDING;

	uint64_t last = iv->sleep.deadline;
	uint64_t next = last + iv->period;
	if (next < last) {
		next = TIMER_NEVER;
	} else if (iv->policy == INTERVAL_SKIP) {
		uint64_t now = timer_wheel_now(iv->sleep.wheel);
		if (next <= now) {
			/* k whole periods fit in (last, now]: skip them all */
			uint64_t k = (now - last) / iv->period;
			iv->missed += k;
			next = last + (k + 1) * iv->period;
			if (next < last)
				next = TIMER_NEVER;
		}
	}
	iv->last = last;
	iv->ticks++;
	sleep_reset(&iv->sleep, next);
	return POLL_READY;
}

uint64_t interval_last(const struct interval *iv)
{
	return iv->last;
}

void interval_drop(struct interval *iv)
{
	sleep_drop(&iv->sleep);
}
