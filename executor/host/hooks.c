/* The executor's hooks on the host (-DEXEC_NO_IRQ): asserts, clock, futex park/unpark; threads. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "hooks.h"

enum { TOK_EMPTY = 0, TOK_PARKED = 1, TOK_NOTIFIED = 2 };

_Noreturn void exec_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "executor assertion failed: %s at %s:%d\n", expr, file, line);
	abort();
}

void exec_lab_todo(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

uint64_t host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t hh_now(void *ctx)
{
	(void)ctx;
	return host_now_ns();
}

static long futex(_Atomic uint32_t *w, int op, uint32_t val,
                  const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)w, op | FUTEX_PRIVATE_FLAG, val, ts,
	               NULL, 0);
}

static void hh_park(void *ctx, unsigned id, uint64_t deadline)
{
	struct host_hooks *hh = ctx;
	_Atomic uint32_t *tok = &hh->token[id];
	uint32_t exp = TOK_NOTIFIED;
	if (atomic_compare_exchange_strong(tok, &exp, TOK_EMPTY))
		return;
	exp = TOK_EMPTY;
	if (!atomic_compare_exchange_strong(tok, &exp, TOK_PARKED)) {
		atomic_store(tok, TOK_EMPTY);	/* was NOTIFIED meanwhile */
		return;
	}
	while (atomic_load(tok) == TOK_PARKED) {
		struct timespec ts, *tsp = NULL;
		if (deadline != UINT64_MAX) {
			uint64_t now = host_now_ns();
			if (now >= deadline)
				break;
			uint64_t d = deadline - now;
			ts.tv_sec = (time_t)(d / 1000000000u);
			ts.tv_nsec = (long)(d % 1000000000u);
			tsp = &ts;
		}
		futex(tok, FUTEX_WAIT, TOK_PARKED, tsp);
	}
	atomic_store(tok, TOK_EMPTY);
}

static void hh_unpark(void *ctx, unsigned id)
{
	struct host_hooks *hh = ctx;
	atomic_fetch_add_explicit(&hh->unparks, 1, memory_order_relaxed);
	if (atomic_exchange(&hh->token[id], TOK_NOTIFIED) == TOK_PARKED) {
		atomic_fetch_add_explicit(&hh->futex_wakes, 1, memory_order_relaxed);
		futex(&hh->token[id], FUTEX_WAKE, 1, NULL);
	}
}

void host_hooks_init(struct host_hooks *hh)
{
	hh->hooks.now_ns = hh_now;
	hh->hooks.park = hh_park;
	hh->hooks.unpark = hh_unpark;
	hh->hooks.ctx = hh;
	for (unsigned i = 0; i < EXEC_MAX_WORKERS; i++)
		atomic_init(&hh->token[i], TOK_EMPTY);
	atomic_init(&hh->unparks, 0);
	atomic_init(&hh->futex_wakes, 0);
}

struct host_thread {
	pthread_t th;
	struct executor *e;
	unsigned id;
	bool forever;
};

static void *host_thread_main(void *arg)
{
	struct host_thread *ht = arg;
	exec_worker_run(ht->e, ht->id, ht->forever);
	return NULL;
}

void host_run_threads(struct executor *e, unsigned n, bool forever)
{
	struct host_thread th[EXEC_MAX_WORKERS];
	for (unsigned i = 1; i < n; i++) {
		th[i].e = e;
		th[i].id = i;
		th[i].forever = forever;
		if (pthread_create(&th[i].th, NULL, host_thread_main, &th[i]) != 0)
			exec_assert_fail("pthread_create", __FILE__, __LINE__);
	}
	exec_worker_run(e, 0, forever);
	for (unsigned i = 1; i < n; i++)
		pthread_join(th[i].th, NULL);
}
