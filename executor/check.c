/* Waker discipline checks: the notes buffer, the scan of every task, the storm check at completion. */
#include "check.h"
#include "exec.h"
#include "spin.h"
#include "task.h"

#ifdef EXEC_CHECK

#define NOTES 16
static struct check_note notes[NOTES];
static _Atomic unsigned nnotes;
static _Atomic unsigned allowed;

void exec_check_allow(unsigned mask)
{
	atomic_store(&allowed, mask);
}

void exec_check_note(enum check_kind kind, const struct task *t)
{
	if (atomic_load_explicit(&allowed, memory_order_relaxed) & CHECK_ALLOW(kind))
		return;
	unsigned i = atomic_fetch_add(&nnotes, 1);
	if (i >= NOTES)
		return;
	struct task *m = (struct task *)t;
	notes[i] = (struct check_note){
		.kind = kind,
		.name = t->name ? t->name : "?",
		.polls = atomic_load_explicit(&m->polls, memory_order_relaxed),
		.wakes = atomic_load_explicit(&m->wakes, memory_order_relaxed),
		.clones = atomic_load_explicit(&m->clones, memory_order_relaxed),
		.drops = atomic_load_explicit(&m->drops, memory_order_relaxed),
		.requeues = atomic_load_explicit(&m->requeues, memory_order_relaxed),
		.refs = (uint32_t)(task_state(t) >> TASK_REF_SHIFT),
	};
}

unsigned exec_check_drain(void (*say)(void *arg, const struct check_note *n), void *arg)
{
	unsigned n = atomic_exchange(&nnotes, 0);
	for (unsigned i = 0; i < n && i < NOTES; i++)
		say(arg, &notes[i]);
	return n;
}

static bool storm(const struct task *t)
{
	struct task *m = (struct task *)t;
	uint32_t polls = atomic_load_explicit(&m->polls, memory_order_relaxed);
	uint32_t req = atomic_load_explicit(&m->requeues, memory_order_relaxed);
	return polls >= CHECK_STORM_MIN && 2 * (uint64_t)req > polls;
}

void exec_check_done(const struct task *t)
{
	if (storm(t))
		exec_check_note(CHECK_SELF_WAKE_STORM, t);
}

/* t was seen COMPLETE with references beyond its join handle's (state
 * read with acquire): true if that is a worker in the middle of
 * completing it, whose own reference goes last (task_complete_inl), and
 * not a leak.  Either its check_completing still names t, or it has
 * cleared it since, after dropping that reference, and the state word
 * now says so (or the slot holds another task already). */
static bool still_completing(const struct task *t)
{
	struct executor *e = t->exec;
	for (unsigned i = 0; i < e->nworkers; i++)
		if (atomic_load_explicit(&e->workers[i].check_completing,
		                         memory_order_acquire) == t)
			return true;
	uint64_t s = task_state(t);
	return !(s & TASK_COMPLETE) ||
	       (s >> TASK_REF_SHIFT) <= (uint64_t)((s & TASK_JOIN_INTEREST) != 0);
}

/* One task, state s (read once): note what `what` asks about. */
static unsigned look(const struct task *t, uint64_t s, unsigned what)
{
	uint64_t refs = s >> TASK_REF_SHIFT;
	uint64_t base = 1 + ((s & TASK_JOIN_INTEREST) != 0);
	if (!refs)
		return 0;	/* a free pool slot */
	if (s & TASK_COMPLETE) {
		/* Only the join handle may still hold a finished task. */
		if ((what & CHECK_SCAN_LEAKS) && refs > (uint64_t)((s & TASK_JOIN_INTEREST) != 0) &&
		    !still_completing(t)) {
			exec_check_note(CHECK_LEAKED_WAKER, t);
			return 1;
		}
		return 0;
	}
	if ((what & CHECK_SCAN_LOST) && !(s & (TASK_SCHEDULED | TASK_RUNNING)) && refs == base) {
		exec_check_note(CHECK_LOST_WAKE, t);
		if (what & CHECK_SCAN_ABORT_LOST) {
			/* (9) as join_handle_abort: whoever turns IDLE into
			 * SCHEDULED queues it. */
			struct task *m = (struct task *)t;
			uint64_t old = atomic_fetch_or(&m->state, TASK_CANCELLED | TASK_SCHEDULED);
			if (!(old & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE)))
				exec_schedule(m->exec, m);
		}
		return 1;
	}
	if ((what & CHECK_SCAN_STORMS) && storm(t)) {
		exec_check_note(CHECK_SELF_WAKE_STORM, t);
		return 1;
	}
	return 0;
}

static unsigned scan_list(struct spin *lock, struct task *const *head, struct executor *e,
                          unsigned what)
{
	unsigned n = 0;
	unsigned long f = spin_lock(lock);
	/* Listed tasks are not complete yet (completion unlinks them, under
	 * this lock, before the executor drops its reference): alive. */
	for (struct task *t = *head; t; t = t->reg_next)
		if (t->exec == e)
			n += look(t, task_state(t), what);
	spin_unlock(lock, f);
	return n;
}

unsigned exec_check_scan(struct executor *e, unsigned what)
{
	unsigned n = 0;
	/* Pool slots: a slot never handed out is all zero (no references);
	 * a free one keeps its last task's COMPLETE state with count 0.
	 * A slot is read without a reference: a note may name a task that
	 * ends at that moment, never a freed one's garbage (the state word
	 * is read first, and a free slot says count 0). */
	for (struct task_pool *p = atomic_load(&task_pools); p; p = p->next_pool) {
		unsigned long f = spin_lock(&p->lock);
		size_t fresh = p->fresh;
		spin_unlock(&p->lock, f);
		for (size_t i = 0; i < fresh; i++) {
			struct task *t = (struct task *)(void *)(p->mem + i * p->slot_size);
			uint64_t s = task_state(t);
			if ((s >> TASK_REF_SHIFT) && (!e || t->exec == e))
				n += look(t, s, what);
		}
	}
	if (!e)
		return n;
	n += scan_list(&e->reg_lock, &e->reg_head, e, what);
	for (unsigned i = 0; i < e->nworkers; i++)
		n += scan_list(&e->workers[i].reg.lock, &e->workers[i].reg.head, e, what);
	return n;
}

#else /* !EXEC_CHECK */

void exec_check_allow(unsigned mask)
{
	(void)mask;
}

unsigned exec_check_scan(struct executor *e, unsigned what)
{
	(void)e;
	(void)what;
	return 0;
}

void exec_check_note(enum check_kind kind, const struct task *t)
{
	(void)kind;
	(void)t;
}

unsigned exec_check_drain(void (*say)(void *arg, const struct check_note *n), void *arg)
{
	(void)say;
	(void)arg;
	return 0;
}

void exec_check_done(const struct task *t)
{
	(void)t;
}

#endif /* EXEC_CHECK */

const char *exec_check_kind_name(enum check_kind kind)
{
	switch (kind) {
	case CHECK_LOST_WAKE: return "lost wake";
	case CHECK_LEAKED_WAKER: return "waker leaked";
	case CHECK_POLL_AFTER_READY: return "poll after Ready";
	case CHECK_SELF_WAKE_STORM: return "self-wake storm";
	}
	return "?";
}
