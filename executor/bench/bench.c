/* Host micro-benchmarks: spawn+join, channel ping-pong, timer insert+cancel, task size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "host/host.h"
#include "mpsc.h"
#include "task.h"
#include "timer.h"

/*
 *   exec_bench <case> <n>
 *
 * Each case runs n operations inside one function named bench_<case>, so
 * `valgrind --tool=callgrind --toggle-collect=bench_<case>` counts exactly
 * the operations (set-up and exit excluded), and prints
 * "<case> <n> <ns per op>" measured with the host clock.  One executor,
 * one worker, the host hooks, poll timing off (EXEC_POLL_TIMING costs
 * two clock reads per poll; see docs/executor.md).
 */
static struct executor ex;
static struct host_hooks hh;

/* ---- spawn + join of a trivial task ------------------------------------*/

struct trivial {
	struct future base;
	int out;
};

static enum poll trivial_poll(struct future *f, struct context *cx)
{
	(void)cx;
	((struct trivial *)f)->out = 1;
	return POLL_READY;
}

static const struct future_vtable trivial_vt = { trivial_poll, NULL };

TASK_POOL(bench_pool, struct trivial, 4);

struct spawner {
	struct future base;
	int state;
	long i, n;
	long sum;
	int got;
	struct join_handle jh;
};

static enum poll spawner_poll(struct future *f, struct context *cx)
{
	struct spawner *s = (struct spawner *)f;
	ASYNC_BEGIN(s);
	for (s->i = 0; s->i < s->n; s->i++) {
		static const struct trivial proto = { { &trivial_vt }, 0 };
		static const struct task_desc d = {
			.name = "trivial",
			.future = &proto.base,
			.future_size = sizeof(proto),
			.out_off = offsetof(struct trivial, out),
			.out_size = sizeof(int),
		};
		s->jh.out = &s->got;
		if (task_spawn(&ex, &bench_pool.src, &d, &s->jh) != TASK_OK)
			abort();
		AWAIT(s, join_handle_poll(&s->jh, cx));
		s->sum += s->got;
	}
	ASYNC_END(s);
}

static const struct future_vtable spawner_vt = { spawner_poll, NULL };

__attribute__((noinline)) void bench_spawn_join(long n);
__attribute__((noinline)) void bench_spawn_join(long n)
{
	struct spawner s = { { &spawner_vt }, 0, 0, n, 0, 0, { { NULL }, NULL, NULL, 0 } };
	exec_block_on(&ex, &s.base);
	if (s.sum != n)
		abort();
}

/* ---- ping-pong through two bounded(1) channels ---------------------------*/

static struct mpsc ping, pong;
static long ping_buf, pong_buf;

struct player {
	struct future base;
	int state;
	bool serve;		/* A: send then receive; B: receive then send */
	long i, n, v;
	struct mpsc_send snd;
	struct mpsc_recv rcv;
};

static enum poll player_poll(struct future *f, struct context *cx)
{
	struct player *p = (struct player *)f;
	ASYNC_BEGIN(p);
	for (p->i = 0; p->i < p->n; p->i++) {
		if (p->serve) {
			p->v = p->i;
			mpsc_send_init(&p->snd, &ping, &p->v);
			AWAIT(p, mpsc_send_poll(&p->snd, cx));
			mpsc_recv_init(&p->rcv, &pong, &p->v);
			AWAIT(p, mpsc_recv_poll(&p->rcv, cx));
		} else {
			mpsc_recv_init(&p->rcv, &ping, &p->v);
			AWAIT(p, mpsc_recv_poll(&p->rcv, cx));
			mpsc_send_init(&p->snd, &pong, &p->v);
			AWAIT(p, mpsc_send_poll(&p->snd, cx));
		}
	}
	ASYNC_END(p);
}

static const struct future_vtable player_vt = { player_poll, NULL };

TASK_POOL(player_pool, struct player, 2);

__attribute__((noinline)) void bench_pingpong(long n);
__attribute__((noinline)) void bench_pingpong(long n)
{
	struct player a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.base.vtable = b.base.vtable = &player_vt;
	a.serve = true;
	a.n = b.n = n;
	mpsc_init(&ping, &ping_buf, sizeof(long), 1);
	mpsc_init(&pong, &pong_buf, sizeof(long), 1);
	struct task_desc da = TASK_DESC_VOID(a, "ping");
	struct task_desc db = TASK_DESC_VOID(b, "pong");
	if (task_spawn(&ex, &player_pool.src, &da, NULL) ||
	    task_spawn(&ex, &player_pool.src, &db, NULL))
		abort();
	exec_run(&ex);
}

/* ---- timer insert + cancel ------------------------------------------------*/

__attribute__((noinline)) void bench_timer(long n);
__attribute__((noinline)) void bench_timer(long n)
{
	struct timer_wheel *w = exec_wheel(&ex);
	struct context cx = { waker_noop() };
	struct sleep s;
	for (long i = 0; i < n; i++) {
		/* deadlines spread over levels 0..2 */
		sleep_init(&s, w, timer_wheel_now(w) + TIMER_MS(1 + (i & 4095)));
		if (sleep_poll(&s, &cx) != POLL_PENDING)
			abort();
		sleep_drop(&s);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: exec_bench spawn_join|pingpong|timer|bytes [n]\n");
		return 2;
	}
	long n = argc > 2 ? atol(argv[2]) : 1000000;
	host_hooks_init(&hh);
	exec_init(&ex, &hh.hooks, 1, 0);
	uint64_t t0 = host_now_ns();
	if (!strcmp(argv[1], "spawn_join"))
		bench_spawn_join(n);
	else if (!strcmp(argv[1], "pingpong"))
		bench_pingpong(n);
	else if (!strcmp(argv[1], "timer"))
		bench_timer(n);
	else if (!strcmp(argv[1], "bytes")) {
		printf("bytes %zu %zu\n", TASK_SIZE(sizeof(struct trivial)),
		       sizeof(struct task));
		return 0;
	} else {
		return 2;
	}
	uint64_t t1 = host_now_ns();
	printf("%s %ld %.1f\n", argv[1], n, n ? (double)(t1 - t0) / (double)n : 0.0);
	return 0;
}
