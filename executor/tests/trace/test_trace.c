/* The executor's trace points (built with -DEXEC_TRACE): the exact events of a few schedules. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exec.h"
#include "test.h"
#include "test_exec_fake.h"
#include "trace.h"

/*
 * This build's exec_trace_emit keeps the events as words, with task
 * names instead of addresses, so a test compares the whole sequence:
 *   "spawn A", "enq A lifo", "start A", "end A pending", "wake A by B",
 *   "wake A by irq", "park", "parked", "unpark 0", "done A"
 */
static char tr[4096];
static size_t trlen;

static const char *tname(uint64_t a)
{
	return a ? ((struct task *)(uintptr_t)a)->name : "-";
}

static void add(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (trlen && trlen < sizeof(tr) - 1)
		tr[trlen++] = ' ';
	int n = vsnprintf(tr + trlen, sizeof(tr) - trlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		trlen += (size_t)n < sizeof(tr) - trlen ? (size_t)n : sizeof(tr) - trlen - 1;
}

void exec_trace_emit(unsigned ev, unsigned x, uint64_t a, uint64_t b)
{
	static const char *const q[] = { "local", "lifo", "inject", "pinned", "due" };
	static const char *const from[] = { "task", "timer", "irq", "outside", "cqe" };
	switch (ev) {
	case PX_TR_SPAWN: add("spawn %s", tname(a)); break;
	case PX_TR_ENQUEUE: add("enq %s %s", tname(a), x < 5 ? q[x] : "?"); break;
	case PX_TR_POLL_START: add("start %s", tname(a)); break;
	case PX_TR_POLL_END: add("end %s %s", tname(a), x ? "ready" : "pending"); break;
	case PX_TR_WAKE:
		if ((x & 0xf) == PX_TR_FROM_TASK)
			add("wake %s by %s%s", tname(a), tname(b), x & PX_TR_BYREF ? " (ref)" : "");
		else
			add("wake %s by %s%s", tname(a), (x & 0xf) < 5 ? from[x & 0xf] : "?",
			    x & PX_TR_BYREF ? " (ref)" : "");
		break;
	case PX_TR_PARK: add("park"); break;
	case PX_TR_PARKED: add("parked"); break;
	case PX_TR_UNPARK: add("unpark %u", x); break;
	case PX_TR_TASK_DONE: add("done %s", tname(a)); break;
	case PX_TR_STEAL: add("steal %s", tname(a)); break;
	default: add("ev%u", ev); break;
	}
}

static void tr_reset(void)
{
	trlen = 0;
	tr[0] = '\0';
}

static struct executor ex;

/* A wake by the running task: attributed to it, into the LIFO slot. */
TEST(trace_wake_by_running_task)
{
	struct fx_fut a, b;
	fx_init(&ex, 1, 0);
	fx_fut_init(&b, "B", 1, 0);
	fx_fut_init(&a, "A", 0, 0);
	tr_reset();
	struct fx_fut *tb = fx_spawn(&ex, &b, NULL);
	a.wake_other = tb;
	fx_spawn(&ex, &a, NULL);
	exec_run(&ex);
	CHECK_STR(tr, "spawn B enq B inject spawn A enq A inject "
	              "start B end B pending start A wake B by A enq B lifo end A ready done A "
	              "start B end B ready done B");
}

static struct fx_fut *irq_target;

/* The fake's park hook, standing for an interrupt handler. */
static void irq_wake(unsigned w)
{
	(void)w;
	fx_fut_wake(irq_target);
}

/* A wake from an interrupt handler: no task, no worker (the kernel's
 * emit names the interrupt), the injection queue, an unpark. */
TEST(trace_wake_from_interrupt)
{
	struct fx_fut a;
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 1, 0);
	tr_reset();
	irq_target = fx_spawn(&ex, &a, NULL);
	fx.on_park = irq_wake;
	exec_run(&ex);
	CHECK_STR(tr, "spawn A enq A inject start A end A pending park "
	              "wake A by outside enq A inject unpark 0 parked start A end A ready done A");
}

/* A task that wakes itself while polled goes to the back of the local
 * queue once its poll ends. */
TEST(trace_self_wake)
{
	struct fx_fut a;
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 1, 0);
	a.yield = true;
	tr_reset();
	fx_spawn(&ex, &a, NULL);
	exec_run(&ex);
	CHECK_STR(tr, "spawn A enq A inject start A wake A by A (ref) end A pending enq A local "
	              "start A end A ready done A");
}
