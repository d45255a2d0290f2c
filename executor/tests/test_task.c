/* Task tests: join handles, outputs, abort, pools and allocator failure. */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "task.h"
#include "test.h"
#include "test_exec_fake.h"
#include "test_wakers.h"

static struct executor ex;

/* An async parent: spawns a child, optionally aborts it, joins it. */
struct parent {
	struct future base;
	int state;
	struct fx_fut child;
	struct fx_fut *tchild;
	struct join_handle jh;
	int got;
	int spawn_rc;
	enum join_result res;
	int abort_when;		/* 0 never, 1 before the first join poll,
				 * 2 after one yield, 3 after the child ended */
};

static enum poll parent_poll(struct future *f, struct context *cx)
{
	struct parent *p = (struct parent *)f;
	ASYNC_BEGIN(p);
	fx_trace("parent");
	p->jh.out = &p->got;
	p->tchild = fx_spawn(&ex, &p->child, &p->jh);
	if (!p->tchild)
		ASYNC_RETURN(p);
	if (p->abort_when == 1)
		join_handle_abort(&p->jh);
	if (p->abort_when >= 2) {
		YIELD(p, cx);
		fx_trace("parent");
	}
	if (p->abort_when == 3) {
		YIELD(p, cx);
		fx_trace("parent");
	}
	if (p->abort_when >= 2)
		join_handle_abort(&p->jh);
	AWAIT(p, join_handle_poll(&p->jh, cx));
	fx_trace("joined %d", p->jh.result == JOIN_OK ? p->got : -1);
	p->res = p->jh.result;
	ASYNC_END(p);
}

static void parent_drop(struct future *f)
{
	join_handle_detach(&((struct parent *)f)->jh);
}

static const struct future_vtable parent_vt = { parent_poll, parent_drop };

static void parent_init(struct parent *p, int child_pends, int out, int abort_when)
{
	memset(p, 0, sizeof(*p));
	p->base.vtable = &parent_vt;
	fx_fut_init(&p->child, "C", child_pends, out);
	p->abort_when = abort_when;
}

TEST(task_join_gets_output_through_block_on)
{
	struct parent p;
	fx_init(&ex, 1, 0);
	parent_init(&p, 0, 42, 0);
	exec_block_on(&ex, &p.base);
	/* The child's completion wakes the parent into the LIFO slot. */
	CHECK_STR(fx_get(), "parent poll C joined 42");
	CHECK_EQ(p.res, JOIN_OK);
	CHECK_EQ(p.got, 42);
	CHECK_EQ(fx_live_allocs, 0);
	CHECK_EQ(exec_live_tasks(&ex), 0);
}

TEST(task_join_waits_for_pending_child)
{
	struct parent p;
	fx_init(&ex, 1, 0);
	parent_init(&p, 2, 7, 0);
	p.child.yield = true;
	exec_block_on(&ex, &p.base);
	CHECK_STR(fx_get(), "parent poll C poll C poll C joined 7");
	CHECK_EQ(p.got, 7);
	CHECK_EQ(fx_live_allocs, 0);
}

/* Abort before the child ever ran: its future is dropped unpolled. */
TEST(task_abort_before_first_poll)
{
	struct parent p;
	fx_init(&ex, 1, 0);
	parent_init(&p, 5, 7, 1);
	exec_block_on(&ex, &p.base);
	CHECK_STR(fx_get(), "parent drop C joined -1");
	CHECK_EQ(p.res, JOIN_CANCELLED);
	CHECK_EQ(fx_live_allocs, 0);
}

/* Abort an idle child (waiting on a waker): dropped at its safe point,
 * and the waker it stored is released by its drop. */
TEST(task_abort_idle_task_drops_future)
{
	struct parent p;
	fx_init(&ex, 1, 0);
	parent_init(&p, 100, 7, 2);
	exec_block_on(&ex, &p.base);
	CHECK_STR(fx_get(), "parent poll C parent drop C joined -1");
	CHECK_EQ(p.res, JOIN_CANCELLED);
	CHECK_EQ(fx_live_allocs, 0);
}

/* Abort after completion: the output stays. */
TEST(task_abort_after_completion_keeps_output)
{
	struct parent p;
	fx_init(&ex, 1, 0);
	parent_init(&p, 0, 9, 3);
	exec_block_on(&ex, &p.base);
	CHECK_STR(fx_get(), "parent poll C parent parent joined 9");
	CHECK_EQ(p.res, JOIN_OK);
	CHECK_EQ(fx_live_allocs, 0);
}

/* A task aborted while it is being polled is dropped right after that
 * poll returns (not during it). */
static struct join_handle self_jh;
struct selfabort {
	struct future base;
	int polls;
};

static uint64_t selfabort_state;	/* the state word right after the abort */

static enum poll selfabort_poll(struct future *f, struct context *cx)
{
	struct selfabort *s = (struct selfabort *)f;
	(void)cx;
	fx_trace("poll S");
	s->polls++;
	join_handle_abort(&self_jh);
	selfabort_state = task_state(self_jh.task);
	fx_trace("abort");
	return POLL_PENDING;
}

static void selfabort_drop(struct future *f)
{
	(void)f;
	fx_trace("drop S");
}

static const struct future_vtable selfabort_vt = { selfabort_poll, selfabort_drop };

TEST(task_abort_while_running_drops_after_poll)
{
	struct selfabort s = { { &selfabort_vt }, 0 };
	fx_init(&ex, 1, 0);
	struct task_desc d = TASK_DESC(s, polls, "S");
	int out = -5;
	self_jh.out = &out;
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, &self_jh), TASK_OK);
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll S abort drop S");
	/* The abort of a running task is a wake as well (9): it sets
	 * SCHEDULED with CANCELLED in one RMW, so task_run needs no second
	 * RMW to queue it, which a racing wake could double
	 * (executor/model/task.pml, BAD_ABORT_RUNNING). */
	CHECK_EQ(selfabort_state & (TASK_RUNNING | TASK_CANCELLED | TASK_SCHEDULED),
	         TASK_RUNNING | TASK_CANCELLED | TASK_SCHEDULED);
	CHECK_EQ(join_handle_poll(&self_jh, &(struct context){ waker_noop() }),
	         POLL_READY);
	CHECK_EQ(self_jh.result, JOIN_CANCELLED);
	CHECK_EQ(out, -5);	/* no output copied */
	CHECK_EQ(fx_live_allocs, 0);
}

/* An abort that arrives during the poll that returns Ready comes too
 * late: the task completed, and the joiner gets its output. */
static struct join_handle late_jh;
struct lateabort {
	struct future base;
	int out;
};

static enum poll lateabort_poll(struct future *f, struct context *cx)
{
	(void)cx;
	fx_trace("poll L");
	join_handle_abort(&late_jh);
	((struct lateabort *)f)->out = 7;
	return POLL_READY;
}

static void lateabort_drop(struct future *f)
{
	(void)f;
	fx_trace("drop L");
}

static const struct future_vtable lateabort_vt = { lateabort_poll, lateabort_drop };

TEST(task_abort_during_final_poll_keeps_output)
{
	struct lateabort l = { { &lateabort_vt }, 0 };
	fx_init(&ex, 1, 0);
	struct task_desc d = TASK_DESC(l, out, "L");
	int out = -5;
	late_jh.out = &out;
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, &late_jh), TASK_OK);
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll L");		/* not dropped */
	CHECK_EQ(join_handle_poll(&late_jh, &(struct context){ waker_noop() }),
	         POLL_READY);
	CHECK_EQ(late_jh.result, JOIN_OK);
	CHECK_EQ(out, 7);
	CHECK_EQ(fx_live_allocs, 0);
}

TASK_POOL(pool2, struct fx_fut, 2);

TEST(task_pool_exhaustion_and_reuse)
{
	struct fx_fut f;
	struct join_handle h[3];
	fx_init(&ex, 1, 0);
	fx_fut_init(&f, "P", 0, 1);
	struct task_desc d = TASK_DESC(f, out, "P");
	CHECK_EQ(task_spawn(&ex, &pool2.src, &d, &h[0]), TASK_OK);
	CHECK_EQ(task_spawn(&ex, &pool2.src, &d, &h[1]), TASK_OK);
	CHECK_EQ(task_spawn(&ex, &pool2.src, &d, &h[2]), TASK_ENOMEM);
	CHECK(h[2].task == NULL);
	CHECK_EQ(task_pool_in_use(&pool2), 2);
	CHECK_EQ(pool2.fail_count, 1);
	exec_run(&ex);
	/* Complete, but the handles still hold the slots. */
	CHECK_EQ(task_pool_in_use(&pool2), 2);
	join_handle_detach(&h[0]);
	CHECK_EQ(task_pool_in_use(&pool2), 1);
	int out = 0;
	h[1].out = &out;
	CHECK_EQ(join_handle_poll(&h[1], &(struct context){ waker_noop() }), POLL_READY);
	CHECK_EQ(out, 1);
	CHECK_EQ(task_pool_in_use(&pool2), 0);
	join_handle_detach(&h[1]);	/* idempotent */
	CHECK_EQ(task_spawn(&ex, &pool2.src, &d, NULL), TASK_OK);
	CHECK_EQ(task_pool_in_use(&pool2), 1);
	exec_run(&ex);
	CHECK_EQ(task_pool_in_use(&pool2), 0);
	CHECK_EQ(task_pool_high_water(&pool2), 2);
}

/* join_handle_poll's inline path stores a clone of the joiner's waker in
 * the trailer, then publishes it with a CAS that fails if COMPLETE came
 * first; join_handle_poll_slow then finds the clone in the slot with
 * JOIN_WAKER clear and must drop it (a leak otherwise, and the slot
 * must be empty when the handle lets go).  The race cannot be timed
 * from a test, so this sets up the state it leaves and calls the slow
 * path directly. */
TEST(task_join_slow_drops_clone_left_by_lost_publish)
{
	struct fx_fut f;
	struct join_handle h;
	struct tw joiner;
	int out = 0;
	fx_init(&ex, 1, 0);
	tw_init(&joiner, 1);
	fx_fut_init(&f, "P", 0, 7);
	struct task_desc d = TASK_DESC(f, out, "P");
	CHECK_EQ(task_spawn(&ex, &pool2.src, &d, &h), TASK_OK);
	exec_run(&ex);
	struct task *t = h.task;
	CHECK(task_state(t) & TASK_COMPLETE);
	CHECK(!(task_state(t) & TASK_JOIN_WAKER));
	task_trailer(t)->join_waker = waker_clone(&joiner.w);	/* the lost publish */
	CHECK_EQ(tw_live(&joiner), 1);
	h.out = &out;
	CHECK_EQ(join_handle_poll_slow(&h, &joiner.cx), POLL_READY);
	CHECK_EQ(h.result, JOIN_OK);
	CHECK_EQ(out, 7);
	CHECK_EQ(tw_live(&joiner), 0);
	CHECK_EQ(tw_woken(&joiner), 0);
	CHECK_EQ(task_pool_in_use(&pool2), 0);
}

TASK_POOL(tiny_pool, char, 4);

TEST(task_pool_rejects_future_too_big)
{
	struct fx_fut f;
	fx_init(&ex, 1, 0);
	fx_fut_init(&f, "P", 0, 1);
	struct task_desc d = TASK_DESC(f, out, "P");
	CHECK_EQ(task_spawn(&ex, &tiny_pool.src, &d, NULL), TASK_ENOMEM);
	CHECK_EQ(task_pool_in_use(&tiny_pool), 0);
	CHECK_EQ(exec_live_tasks(&ex), 0);
}

/* An allocator hook that fails on demand (fault injection). */
static int hook_fail_next, hook_allocs;
static void *hook_alloc(struct task_src *src, size_t size)
{
	(void)src;
	if (hook_fail_next) {
		hook_fail_next = 0;
		return NULL;
	}
	hook_allocs++;
	return malloc(size);
}

static void hook_free(struct task_src *src, void *p, size_t size)
{
	(void)src;
	(void)size;
	hook_allocs--;
	free(p);
}

static struct task_src hook_src = { hook_alloc, hook_free };

TEST(task_allocator_hook_failure)
{
	struct fx_fut f;
	struct join_handle jh;
	fx_init(&ex, 1, 0);
	fx_fut_init(&f, "H", 0, 3);
	struct task_desc d = TASK_DESC(f, out, "H");
	hook_fail_next = 1;
	CHECK_EQ(task_spawn(&ex, &hook_src, &d, &jh), TASK_ENOMEM);
	CHECK(jh.task == NULL);
	CHECK_EQ(exec_live_tasks(&ex), 0);
	CHECK_EQ(hook_allocs, 0);
	CHECK_EQ(task_spawn(&ex, &hook_src, &d, &jh), TASK_OK);
	CHECK_EQ(hook_allocs, 1);
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll H");
	join_handle_detach(&jh);
	CHECK_EQ(hook_allocs, 0);
}

TEST(task_size_of_trivial_future)
{
	struct trivial { struct future base; } t;
	(void)t;
	size_t sz = TASK_SIZE(sizeof(struct trivial));
	/* header + 8-byte future + trailer, 16-aligned */
	CHECK(sz <= 160);
	CHECK_EQ(sz % 16, 0);
	CHECK_EQ(TASK_CORE_OFF % 16, 0);
}

/* Shutdown drops never-finished tasks so their storage returns. */
static void stop_on_park(unsigned w)
{
	(void)w;
	exec_stop(fx.e);
}

TEST(task_shutdown_drops_pending_tasks)
{
	struct fx_fut a;
	struct join_handle jh;
	fx_init(&ex, 1, 0);
	fx.trace_unpark = false;
	fx_fut_init(&a, "A", 100, 0);
	jh.out = NULL;
	fx_spawn(&ex, &a, &jh);
	fx.on_park = stop_on_park;
	exec_run(&ex);
	CHECK_EQ(exec_live_tasks(&ex), 1);
	CHECK_EQ(fx_live_allocs, 1);
	exec_shutdown(&ex);
	CHECK_STR(fx_get(), "poll A park(0,inf) drop A");
	CHECK_EQ(exec_live_tasks(&ex), 0);
	CHECK_EQ(join_handle_poll(&jh, &(struct context){ waker_noop() }), POLL_READY);
	CHECK_EQ(jh.result, JOIN_CANCELLED);
	CHECK_EQ(fx_live_allocs, 0);
}

/* Per-worker spare slots: a slot parked in any spare word is free (not in
 * task_pool_in_use), another thread's allocation finds it by sweeping when the free
 * list is empty, and a spare that is taken overflows to the free list. */
TASK_POOL(spare_pool, struct fx_fut, 2);

TEST(task_pool_spare_slots_are_free_slots)
{
	struct fx_fut f;
	struct join_handle h[3];
	unsigned saved = task_spare_hint;
	fx_init(&ex, 1, 0);
	fx_fut_init(&f, "S", 0, 1);
	struct task_desc d = TASK_DESC(f, out, "S");
	task_spare_hint = 5;
	CHECK_EQ(task_spawn(&ex, &spare_pool.src, &d, &h[0]), TASK_OK);
	CHECK_EQ(task_spawn(&ex, &spare_pool.src, &d, &h[1]), TASK_OK);
	exec_run(&ex);
	CHECK_EQ(task_spare_hint, 5);		/* the worker restored it */
	join_handle_detach(&h[0]);		/* -> spare[5] */
	task_spare_hint = 6;
	join_handle_detach(&h[1]);		/* -> spare[6] */
	CHECK_EQ(task_pool_in_use(&spare_pool), 0);
	CHECK(atomic_load(&spare_pool.spare[5]) != NULL);
	CHECK(atomic_load(&spare_pool.spare[6]) != NULL);
	CHECK(spare_pool.free_list == NULL);

	/* Free list empty, fresh slots used up: both come from the sweep. */
	task_spare_hint = 0;
	CHECK_EQ(task_spawn(&ex, &spare_pool.src, &d, &h[0]), TASK_OK);
	CHECK_EQ(task_spawn(&ex, &spare_pool.src, &d, &h[1]), TASK_OK);
	CHECK_EQ(task_spawn(&ex, &spare_pool.src, &d, &h[2]), TASK_ENOMEM);
	CHECK_EQ(task_pool_in_use(&spare_pool), 2);
	CHECK_EQ(task_pool_high_water(&spare_pool), 2);
	CHECK_EQ(spare_pool.fail_count, 1);
	CHECK(atomic_load(&spare_pool.spare[5]) == NULL);
	CHECK(atomic_load(&spare_pool.spare[6]) == NULL);
	join_handle_detach(&h[0]);		/* -> spare[0] */
	join_handle_detach(&h[1]);		/* spare[0] taken: free list */
	exec_run(&ex);
	CHECK_EQ(task_pool_in_use(&spare_pool), 0);
	CHECK(atomic_load(&spare_pool.spare[0]) != NULL);
	CHECK(spare_pool.free_list != NULL);
	/* And both are handed out again. */
	CHECK_EQ(task_spawn(&ex, &spare_pool.src, &d, NULL), TASK_OK);
	CHECK_EQ(task_spawn(&ex, &spare_pool.src, &d, NULL), TASK_OK);
	CHECK_EQ(task_pool_in_use(&spare_pool), 2);
	exec_run(&ex);
	CHECK_EQ(task_pool_in_use(&spare_pool), 0);
	task_spare_hint = saved;
}

/* A pool task is on no registry list: its pool slot is its entry.  The
 * Ctrl-T table lists it after the list tasks (slots in address order),
 * a completed or freed slot is not listed, and shutdown finds it there
 * and drops it. */
TASK_POOL(reg_pool, struct fx_fut, 3);
static char reg_table[1024];
static size_t reg_table_len;
static void reg_write(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	if (reg_table_len + n < sizeof(reg_table)) {
		memcpy(reg_table + reg_table_len, s, n);
		reg_table_len += n;
		reg_table[reg_table_len] = 0;
	}
}

static void reg_print_stop(unsigned w)
{
	(void)w;
	exec_print_tasks(fx.e, reg_write, NULL);
	exec_stop(fx.e);
}

TEST(task_pool_slots_are_the_registry)
{
	struct fx_fut a, b, c, l;
	fx_init(&ex, 1, 0);
	fx.trace_unpark = false;
	fx_fut_init(&a, "pA", 100, 0);
	fx_fut_init(&b, "pB", 0, 0);	/* completes: not listed */
	fx_fut_init(&c, "pC", 100, 0);
	fx_fut_init(&l, "list", 100, 0);
	struct task_desc da = TASK_DESC(a, out, "pA");
	struct task_desc db = TASK_DESC(b, out, "pB");
	struct task_desc dc = TASK_DESC(c, out, "pC");
	CHECK_EQ(task_spawn(&ex, &reg_pool.src, &da, NULL), TASK_OK);
	CHECK_EQ(task_spawn(&ex, &reg_pool.src, &db, NULL), TASK_OK);
	CHECK_EQ(task_spawn(&ex, &reg_pool.src, &dc, NULL), TASK_OK);
	fx_spawn(&ex, &l, NULL);
	CHECK(ex.reg_head != NULL && ex.reg_head->reg_next == NULL);
	reg_table_len = 0;
	fx.on_park = reg_print_stop;
	exec_run(&ex);
	CHECK_STR(reg_table,
	          "task             state         polls      wakes   poll_us\n"
	          "list             waiting           1          0         0\n"
	          "pA               waiting           1          0         0\n"
	          "pC               waiting           1          0         0\n"
	          "worker 0: polls 4 parks 1 steals 0 injected 4\n");
	CHECK_EQ(exec_live_tasks(&ex), 3);
	CHECK_EQ(task_pool_in_use(&reg_pool), 2);
	exec_shutdown(&ex);
	CHECK_EQ(exec_live_tasks(&ex), 0);
	CHECK_EQ(task_pool_in_use(&reg_pool), 0);
	CHECK_EQ(fx_live_allocs, 0);
	/* Nothing is live any more: an empty table. */
	reg_table_len = 0;
	exec_print_tasks(&ex, reg_write, NULL);
	CHECK_STR(reg_table,
	          "task             state         polls      wakes   poll_us\n"
	          "worker 0: polls 4 parks 1 steals 0 injected 4\n");
}

/* ---- task_spawn_polled: a future built in place, polled by the caller ----*/

/* A task slot from src with an fx_fut built at its core. */
static struct task *polled_slot(struct task_src *src, const char *name, int pends)
{
	struct task *t = src->alloc(src, TASK_SIZE(sizeof(struct fx_fut)));
	if (!t)
		abort();	/* the sources here always have room */
	fx_fut_init((struct fx_fut *)(void *)((unsigned char *)t + TASK_CORE_OFF), name,
	            pends, 0);
	return t;
}

static const struct task_desc polled_desc = {
	"polled", NULL, sizeof(struct fx_fut), 0, 0, 0 };

/* Ready at the first poll: polled once, here, and no task is left: no
 * live count, no registry entry, the storage back at once. */
TEST(task_spawn_polled_ready_leaves_no_task)
{
	fx_init(&ex, 1, 0);
	struct task *t = polled_slot(&fx_src, "R", 0);
	CHECK_EQ(fx_live_allocs, 1);
	CHECK_EQ(task_spawn_polled(&ex, &fx_src, t, &polled_desc), POLL_READY);
	CHECK_STR(fx_get(), "poll R");
	CHECK_EQ(fx_live_allocs, 0);
	CHECK_EQ(exec_live_tasks(&ex), 0);
	CHECK(ex.reg_head == NULL);
}

/* Pending: a task like any other, woken through the waker its first
 * poll stored, run by a worker, and freed when it finishes. */
TEST(task_spawn_polled_pending_becomes_a_task)
{
	fx_init(&ex, 1, 0);
	struct task *t = polled_slot(&fx_src, "P", 1);
	struct fx_fut *f = (struct fx_fut *)(void *)((unsigned char *)t + TASK_CORE_OFF);
	CHECK_EQ(task_spawn_polled(&ex, &fx_src, t, &polled_desc), POLL_PENDING);
	CHECK_STR(fx_get(), "poll P");
	CHECK_EQ(exec_live_tasks(&ex), 1);
	CHECK(ex.reg_head == t);
	CHECK_EQ(task_state(t) & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE), 0);
	CHECK_EQ(task_refcount(t), 2);		/* the executor's, the stored waker's */
	fx_fut_wake(f);
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll P wake P poll P");
	CHECK_EQ(exec_live_tasks(&ex), 0);
	CHECK_EQ(fx_live_allocs, 0);
}

/* Woken during its own first poll: queued once the poll returns, so the
 * wake is not lost. */
TEST(task_spawn_polled_woken_during_first_poll_is_queued)
{
	fx_init(&ex, 1, 0);
	struct task *t = polled_slot(&fx_src, "Y", 1);
	((struct fx_fut *)(void *)((unsigned char *)t + TASK_CORE_OFF))->yield = true;
	CHECK_EQ(task_spawn_polled(&ex, &fx_src, t, &polled_desc), POLL_PENDING);
	CHECK_EQ(task_state(t) & (TASK_SCHEDULED | TASK_RUNNING), TASK_SCHEDULED);
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll Y poll Y");
	CHECK_EQ(fx_live_allocs, 0);
}

/* From inside a task's poll (a worker is current), with a static pool's
 * slot: the pool gets the slot back either way. */
TASK_POOL(polled_pool, struct fx_fut, 2);

struct polled_parent {
	struct future base;
	enum poll first[2];
	size_t in_use;
};

static enum poll polled_parent_poll(struct future *f, struct context *cx)
{
	struct polled_parent *p = (struct polled_parent *)f;
	(void)cx;
	p->first[0] = task_spawn_polled(&ex, &polled_pool.src,
	                                polled_slot(&polled_pool.src, "A", 0), &polled_desc);
	p->first[1] = task_spawn_polled(&ex, &polled_pool.src,
	                                polled_slot(&polled_pool.src, "B", 1), &polled_desc);
	p->in_use = task_pool_in_use(&polled_pool);
	return POLL_READY;
}

static const struct future_vtable polled_parent_vt = { polled_parent_poll, NULL };

TEST(task_spawn_polled_from_a_task_with_a_pool)
{
	struct polled_parent p = { { &polled_parent_vt }, { POLL_PENDING, POLL_PENDING }, 0 };
	fx_init(&ex, 1, 0);
	exec_block_on(&ex, &p.base);
	CHECK_EQ(p.first[0], POLL_READY);
	CHECK_EQ(p.first[1], POLL_PENDING);
	CHECK_EQ(p.in_use, 1);			/* A's slot came back at once */
	CHECK_STR(fx_get(), "poll A poll B");
	CHECK_EQ(exec_live_tasks(&ex), 1);	/* B waits on its stored waker */
	exec_shutdown(&ex);
	CHECK_STR(fx_get(), "poll A poll B drop B");
	CHECK_EQ(task_pool_in_use(&polled_pool), 0);
}
