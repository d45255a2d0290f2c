/* Future combinators over struct future *: join2, join_all and select2. */
#ifndef EXECUTOR_COMBINATORS_H
#define EXECUTOR_COMBINATORS_H

#include <stddef.h>

#include "future.h"

/*
 * The combinators borrow their inner futures (pointers; the storage is the
 * caller's, usually fields of the same async-function struct) and poll
 * them with the caller's context, so every inner future registers the
 * same task's waker: any of them becoming ready re-polls the combinator,
 * which re-polls the inner futures that are not finished.  Cost per poll
 * is O(unfinished inner futures).
 *
 * Drop rule: a combinator drops (future_drop) exactly the inner futures
 * that did not finish.  A future that returned Ready holds nothing to
 * release (its output stays readable in its struct) and is not dropped.
 */

/* Ready when both are Ready.  a is polled first on each poll. */
struct join2 {
	struct future base;
	struct future *a, *b;
	unsigned char a_done, b_done;
};

void join2_init(struct join2 *j, struct future *a, struct future *b);
enum poll join2_poll(struct join2 *j, struct context *cx);
void join2_drop(struct join2 *j);

/* Ready when all n are Ready, polled in index order.  The array is the
 * caller's and is used as the "still running" set: a finished entry is
 * set to NULL, so keep other pointers to the futures for their outputs. */
struct join_all {
	struct future base;
	struct future **futs;
	size_t n;
	size_t left;
};

void join_all_init(struct join_all *j, struct future **futs, size_t n);
enum poll join_all_poll(struct join_all *j, struct context *cx);
void join_all_drop(struct join_all *j);

/*
 * Ready when either is Ready; the other is dropped at once, before
 * select2_poll returns.  Biased: a is polled first, so if both are ready
 * in the same poll, a wins (deterministic, like tokio::select!'s biased
 * mode; put the more urgent future first).  winner: 0 for a, 1 for b.
 */
struct select2 {
	struct future base;
	struct future *a, *b;
	int winner;          /* -1 until Ready */
};

void select2_init(struct select2 *s, struct future *a, struct future *b);
enum poll select2_poll(struct select2 *s, struct context *cx);
void select2_drop(struct select2 *s);

#endif /* EXECUTOR_COMBINATORS_H */
