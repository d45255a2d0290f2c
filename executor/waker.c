/* The no-op waker and the assertion behind ASYNC_END's default arm. */
#include "future.h"
#include "hooks.h"

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
	EXEC_ASSERT(!"async function polled after it returned Ready");
	return POLL_READY;
}
