/* Counting test wakers for the leaf-future tests: record wakes, clones, drops. */
#ifndef EXECUTOR_TESTS_TEST_WAKERS_H
#define EXECUTOR_TESTS_TEST_WAKERS_H

#include <stdatomic.h>

#include "future.h"

/*
 * A test waker stands for an imaginary task: tw_init makes the base waker
 * t->w, owned by the test (never woken or dropped through the vtable).
 * Every clone handed out is counted; each must later be consumed once by
 * wake or drop, so after the futures are gone tw_live(t) must be 0.
 * Every wake (consuming or by reference) also appends t->id to a global
 * log, so tests can assert the order in which waiters were woken.
 */
struct tw {
	atomic_int clones;
	atomic_int wakes;        /* consuming wakes */
	atomic_int wake_by_refs;
	atomic_int drops;
	int id;
	struct waker w;
	struct context cx;       /* { &w }, for polls */
};

void tw_init(struct tw *t, int id);
/* Clones not yet consumed by wake or drop. */
int tw_live(struct tw *t);
/* Wakes of any kind. */
int tw_woken(struct tw *t);

/* The global wake log: ids in wake order, as "1,2,3". */
void tw_log_reset(void);
const char *tw_log(void);

#endif /* EXECUTOR_TESTS_TEST_WAKERS_H */
