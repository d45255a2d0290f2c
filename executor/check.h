/* Waker discipline checks (EXEC_CHECK builds): per-task counts, and notes on wakes lost, wakers leaked, polls after Ready, self-wake storms. */
#ifndef EXECUTOR_CHECK_H
#define EXECUTOR_CHECK_H

#include <stdbool.h>
#include <stdint.h>

struct executor;
struct task;

/*
 * A checking build (-DEXEC_CHECK: the test kernel and the host tests)
 * counts, per task, the clones and drops of its wakers (task.h: clones,
 * drops; wakes are counted in every build) and the polls after which it
 * had woken itself (requeues), and keeps notes of what breaks the waker
 * discipline:
 *
 *   CHECK_LOST_WAKE     a pending task (not queued, not running) that no
 *                       waker references: nothing can ever wake it.  A
 *                       waker clone holds a reference, so this is exact:
 *                       the count is the executor's own plus the join
 *                       handle's, and nothing else.
 *   CHECK_LEAKED_WAKER  a finished task still referenced by wakers that
 *                       nobody will drop (no join handle holds it): its
 *                       slot never goes back to its pool.
 *   CHECK_POLL_AFTER_READY  an async function polled again after it had
 *                       returned Ready (future.h's ASYNC_END).
 *   CHECK_SELF_WAKE_STORM   a task that woke itself during more than half
 *                       of its polls (at least CHECK_STORM_MIN polls): it
 *                       spins through the executor instead of waiting.
 *
 * Notes are taken where the executor sees the problem (completion, the
 * ASYNC_END arm) and by exec_check_scan, which a test runner calls after
 * each test (and, for lost wakes, while a test waits); the runner drains
 * and prints them (exec_check_drain) and fails the test on any but a
 * self-wake storm, which it only reports.  Without
 * EXEC_CHECK every function here is a no-op returning 0.
 */
enum check_kind {
	CHECK_LOST_WAKE = 1,
	CHECK_LEAKED_WAKER,
	CHECK_POLL_AFTER_READY,
	CHECK_SELF_WAKE_STORM,
};

#define CHECK_STORM_MIN 64

struct check_note {
	enum check_kind kind;
	const char *name;	/* the task's name (static storage) */
	uint32_t polls, wakes, clones, drops, requeues, refs;
};

/* What exec_check_scan looks for. */
#define CHECK_SCAN_LOST   1u
#define CHECK_SCAN_LEAKS  2u
#define CHECK_SCAN_STORMS 4u
#define CHECK_SCAN_ALL    7u
/* With CHECK_SCAN_LOST: also abort each lost task (as join_handle_abort
 * would: its future is dropped the next time it runs), so that a test
 * runner can go on to the next test. */
#define CHECK_SCAN_ABORT_LOST 8u

/* Look at every task of e (its static pools' slots and its registry) for
 * the problems in `what`; each found is noted.  Returns how many.  Any
 * thread or task; not from an interrupt handler.  e NULL: the pool slots
 * of every executor. */
unsigned exec_check_scan(struct executor *e, unsigned what);

/* Note a problem with task t (any context, no allocation; notes beyond
 * the buffer's room are counted, not kept). */
void exec_check_note(enum check_kind kind, const struct task *t);

/* Hand each note taken since the last drain to say(arg, note), oldest
 * first, and forget them.  Returns how many there were (kept or not). */
unsigned exec_check_drain(void (*say)(void *arg, const struct check_note *n), void *arg);

/* A test that breaks a rule on purpose (a task that spins by yielding,
 * to test fairness) says so: notes of the kinds in mask (bits 1 << kind)
 * are not taken until the next call.  Test runners pass 0 before each
 * test. */
void exec_check_allow(unsigned mask);
#define CHECK_ALLOW(kind) (1u << (kind))

/* "lost wake", "waker leaked", "poll after Ready", "self-wake storm". */
const char *exec_check_kind_name(enum check_kind kind);

/* For task_complete (task_impl.h): the storm check of a task as it ends. */
void exec_check_done(const struct task *t);

#endif /* EXECUTOR_CHECK_H */
