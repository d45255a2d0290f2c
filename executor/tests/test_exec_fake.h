/* Recording fake hooks and small test futures for the executor tests. */
#ifndef EXECUTOR_TESTS_TEST_EXEC_FAKE_H
#define EXECUTOR_TESTS_TEST_EXEC_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "exec.h"
#include "task.h"

/*
 * The fake hooks: a clock that only moves when a park has a deadline
 * (the park "sleeps" until it), and a trace of events as words:
 * "park(0,inf)", "park(0,5000)", "unpark(1)", plus whatever test futures
 * add with fx_trace ("poll A", "drop B").  Tests compare the whole trace.
 * on_park runs inside park between fx_irq_enter and fx_irq_exit, standing
 * for an interrupt handler (exec_interrupt_enter: no current worker).  A park with
 * no deadline and no on_park is a hang: the test aborts.
 */
struct fx {
	struct exec_hooks hooks;
	struct executor *e;
	uint64_t now;
	char trace[8192];
	size_t len;
	bool in_irq;
	struct exec_worker *irq_saved;	/* exec_interrupt_enter's value */
	int idle_parks;
	void (*on_park)(unsigned worker);
	bool trace_unpark;
};

extern struct fx fx;

/* Reset the fake and init e on it with n workers (flags: exec_init's). */
void fx_init(struct executor *e, unsigned nworkers, unsigned flags);
void fx_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *fx_get(void);

/* A test future: records "poll <name>" each poll; returns Pending
 * `pends` times, storing a clone of the waker in ->w each time (dropping
 * the previous one), then Ready with out = value.  Its drop records
 * "drop <name>" and drops the stored waker. */
struct fx_fut {
	struct future base;
	const char *name;
	int pends;
	int polls;
	int out;
	bool yield;		/* wake itself instead of storing the waker */
	struct waker w;
	struct fx_fut *wake_other;	/* wake this one's stored waker on each poll */
};

/* Bracket code that stands for an interrupt handler (fx.in_irq set). */
void fx_irq_enter(void);
void fx_irq_exit(void);

void fx_fut_init(struct fx_fut *f, const char *name, int pends, int out);
/* Wake the waker f stored (consumes it); as if from an interrupt handler
 * when in_irq is set. */
void fx_fut_wake(struct fx_fut *f);

/* Spawn a copy of f from a malloc-backed source; returns the task's copy
 * of the future (so tests can reach its stored waker). */
struct fx_fut *fx_spawn(struct executor *e, const struct fx_fut *f,
                        struct join_handle *jh);
/* Allocations from fx_spawn's source not yet freed. */
extern int fx_live_allocs;
extern struct task_src fx_src;

#endif /* EXECUTOR_TESTS_TEST_EXEC_FAKE_H */
