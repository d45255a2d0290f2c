/* Future combinators over struct future *: join2, join_all and select2. */
#include "combinators.h"
#include "hooks.h"

/* ---- join2 ------------------------------------------------------------- */

static enum poll join2_vpoll(struct future *f, struct context *cx)
{
	return join2_poll((struct join2 *)f, cx);
}

static void join2_vdrop(struct future *f)
{
	join2_drop((struct join2 *)f);
}

static const struct future_vtable join2_vtable = { join2_vpoll, join2_vdrop };

void join2_init(struct join2 *j, struct future *a, struct future *b)
{
	j->base.vtable = &join2_vtable;
	j->a = a;
	j->b = b;
	j->a_done = 0;
	j->b_done = 0;
}

enum poll join2_poll(struct join2 *j, struct context *cx)
{
	/* LAB 2 BEGIN */
	if (!j->a_done && future_poll(j->a, cx) == POLL_READY)
		j->a_done = 1;
	if (!j->b_done && future_poll(j->b, cx) == POLL_READY)
		j->b_done = 1;
	return j->a_done && j->b_done ? POLL_READY : POLL_PENDING;
	/* LAB 2 STUB
	// Stub: one after the other (a, then b), not concurrently.
	EXEC_LAB_TODO("LAB 2: implement join2_poll (executor/combinators.c)");
	if (!j->a_done) {
		if (future_poll(j->a, cx) == POLL_PENDING)
			return POLL_PENDING;
		j->a_done = 1;
	}
	if (future_poll(j->b, cx) == POLL_PENDING)
		return POLL_PENDING;
	j->b_done = 1;
	return POLL_READY;
	   LAB 2 END */
}

void join2_drop(struct join2 *j)
{
	if (!j->a_done)
		future_drop(j->a);
	if (!j->b_done)
		future_drop(j->b);
	j->a_done = 1;
	j->b_done = 1;
}

/* ---- join_all ---------------------------------------------------------- */

static enum poll join_all_vpoll(struct future *f, struct context *cx)
{
	return join_all_poll((struct join_all *)f, cx);
}

static void join_all_vdrop(struct future *f)
{
	join_all_drop((struct join_all *)f);
}

static const struct future_vtable join_all_vtable = {
	join_all_vpoll, join_all_vdrop
};

void join_all_init(struct join_all *j, struct future **futs, size_t n)
{
	j->base.vtable = &join_all_vtable;
	j->futs = futs;
	j->n = n;
	j->left = n;
}

enum poll join_all_poll(struct join_all *j, struct context *cx)
{
	for (size_t i = 0; i < j->n && j->left; i++) {
		if (j->futs[i] && future_poll(j->futs[i], cx) == POLL_READY) {
			j->futs[i] = NULL;
			j->left--;
		}
	}
	return j->left ? POLL_PENDING : POLL_READY;
}

void join_all_drop(struct join_all *j)
{
	for (size_t i = 0; i < j->n; i++) {
		if (j->futs[i]) {
			future_drop(j->futs[i]);
			j->futs[i] = NULL;
		}
	}
	j->left = 0;
}

/* ---- select2 ----------------------------------------------------------- */

static enum poll select2_vpoll(struct future *f, struct context *cx)
{
	return select2_poll((struct select2 *)f, cx);
}

static void select2_vdrop(struct future *f)
{
	select2_drop((struct select2 *)f);
}

static const struct future_vtable select2_vtable = {
	select2_vpoll, select2_vdrop
};

void select2_init(struct select2 *s, struct future *a, struct future *b)
{
	s->base.vtable = &select2_vtable;
	s->a = a;
	s->b = b;
	s->winner = -1;
}

enum poll select2_poll(struct select2 *s, struct context *cx)
{
	EXEC_ASSERT(s->winner < 0);
	/* LAB 2 BEGIN */
	if (future_poll(s->a, cx) == POLL_READY) {
		s->winner = 0;
		future_drop(s->b);
		return POLL_READY;
	}
	if (future_poll(s->b, cx) == POLL_READY) {
		s->winner = 1;
		future_drop(s->a);
		return POLL_READY;
	}
	return POLL_PENDING;
	/* LAB 2 STUB
	// Stub: waits for a alone; b is never polled (and never dropped).
	EXEC_LAB_TODO("LAB 2: implement select2_poll (executor/combinators.c)");
	if (future_poll(s->a, cx) == POLL_READY) {
		s->winner = 0;
		return POLL_READY;
	}
	return POLL_PENDING;
	   LAB 2 END */
}

/* Before Ready both are unfinished; after, the loser is already gone. */
void select2_drop(struct select2 *s)
{
	if (s->winner < 0) {
		future_drop(s->a);
		future_drop(s->b);
		s->winner = 2;
	}
}
