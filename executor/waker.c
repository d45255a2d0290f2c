/* Wakers: the task waker's vtable, the no-op waker, and the assertion behind ASYNC_END's default arm. */
#include "future.h"
#include "hooks.h"
#include "task.h"

/* ---- The task waker --------------------------------------------------------
 * One vtable for every task; data is the task.  A clone is a reference.
 * The transitions are inline (task_impl.h), so each entry is one call. */

static struct raw_waker tw_clone(const void *data)
{
	task_ref_inl((struct task *)data);
	EXEC_CHECK_COUNT(((struct task *)data)->clones);
	return (struct raw_waker){ data, &task_waker_vtable };
}

static void tw_wake(const void *data)
{
	task_wake_by_val((struct task *)data, NULL);
}

static void tw_wake_by_ref(const void *data)
{
	task_wake_by_ref((struct task *)data);
}

static void tw_drop(const void *data)
{
	EXEC_CHECK_COUNT(((struct task *)data)->drops);
	task_unref_inl((struct task *)data);
}

const struct raw_waker_vtable task_waker_vtable = {
	tw_clone, tw_wake, tw_wake_by_ref, tw_drop,
};

/* ---- The no-op waker -------------------------------------------------------*/

static struct raw_waker noop_clone(const void *data);
static void noop(const void *data)
{
	(void)data;
}

static const struct raw_waker_vtable noop_vtable = {
	noop_clone, noop, noop, noop,
};

static struct raw_waker noop_clone(const void *data)
{
	return (struct raw_waker){ data, &noop_vtable };
}

static const struct waker noop_waker = { { NULL, &noop_vtable } };

const struct waker *waker_noop(void)
{
	return &noop_waker;
}

enum poll async_resumed_after_done(void)
{
#ifdef EXEC_CHECK
	/* Noted against the task being polled (the worker's context waker
	 * names it), for the test runner to report. */
	struct exec_worker *w = exec_self;
	if (w && w->waker.raw.data) {
		exec_check_note(CHECK_POLL_AFTER_READY, (const struct task *)w->waker.raw.data);
		return POLL_READY;
	}
#endif
	EXEC_ASSERT(!"async function polled after it returned Ready");
	return POLL_READY;
}
