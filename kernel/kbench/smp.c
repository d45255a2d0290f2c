/* Multi-hart benchmarks ("kbench=smp"): batch throughput, cross-hart wake latency, steals and parks. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/notify.h"
#include "executor/timer.h"
#include "kernel/kbench/kbench.h"
#include "kernel/kbench/smp.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"

/*
 * Wall-clock figures in arch timer ticks (10 MHz on riscv64 virt,
 * 62.5 MHz on aarch64 virt), because QEMU's -icount serialises every hart
 * onto one host thread: scripts/bench.sh boots this with -smp 1, 2 and 4,
 * without -icount, and takes medians over boots; each boot prints medians
 * over SB_RUNS repetitions as "bench <name> <median> <unit>".
 */
#define SB_RUNS 7
#define SB_TASKS 64          /* CPU-bound tasks per batch */
#define SB_WORK 400000u      /* churn iterations per task */
#define SB_LAT_SAMPLES 101
#define SB_LAT_GAP_NS (2 * 1000000ull) /* let the receiver park first */

static uint64_t __attribute__((noipa)) churn(uint64_t n, uint64_t x)
{
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull + i;
	return x;
}

/* ---- a batch of CPU-bound tasks -------------------------------------------*/

static _Atomic unsigned batch_left;
static _Atomic uint64_t batch_sink;
static struct notify batch_fin;

struct worker_task {
	struct future base;
	uint64_t seed;
};

static enum poll worker_poll(struct future *f, struct context *cx)
{
	(void)cx;
	atomic_fetch_add(&batch_sink, churn(SB_WORK, ((struct worker_task *)f)->seed));
	if (atomic_fetch_sub(&batch_left, 1) == 1)
		notify_one(&batch_fin);
	return POLL_READY;
}

static const struct future_vtable worker_vtable = { worker_poll, NULL };

/* ---- wake latency: a pinned receiver parked on another hart --------------*/

static struct notify lat_kick, lat_ack;
static _Atomic uint64_t lat_sent;
static uint64_t lat[SB_LAT_SAMPLES];
static _Atomic unsigned lat_n;

struct receiver {
	struct future base;
	int state;
	struct notified n;
};

static enum poll receiver_poll(struct future *f, struct context *cx)
{
	struct receiver *r = (struct receiver *)f;
	ASYNC_BEGIN(r);
	while (atomic_load(&lat_n) < SB_LAT_SAMPLES) {
		notified_init(&r->n, &lat_kick);
		AWAIT(r, notified_poll(&r->n, cx));
		lat[atomic_load(&lat_n)] = arch_timer_now() - atomic_load(&lat_sent);
		atomic_fetch_add(&lat_n, 1);
		notify_one(&lat_ack);
	}
	ASYNC_END(r);
}

static const struct future_vtable receiver_vtable = { receiver_poll, NULL };

/* ---- the driver ------------------------------------------------------------*/

static struct bench {
	struct future base;
	int state;
	unsigned run, i;
	uint64_t t0, work_ticks;
	uint64_t ticks[SB_RUNS];
	uint64_t steals0, parks0, steals1, parks1;
	struct notified done;
	struct sleep s;
} bench;

static void counters(uint64_t *steals, uint64_t *parks)
{
	*steals = *parks = 0;
	for (unsigned h = 0; h < kernel_exec.nworkers; h++) {
		*steals += atomic_load(&kernel_exec.workers[h].stats.steals);
		*parks += hart_stats[h].parks;
	}
}

static enum poll bench_poll(struct future *f, struct context *cx)
{
	struct bench *b = (struct bench *)f;
	unsigned n = kernel_exec.nworkers;
	ASYNC_BEGIN(b);
	printf("kbench smp: %u hart%s, %u tasks x %u iterations per batch, timer %llu Hz\n",
	       n, n == 1 ? "" : "s", SB_TASKS, SB_WORK, (unsigned long long)arch_timer_freq());
	counters(&b->steals0, &b->parks0);
	for (b->run = 0; b->run < SB_RUNS; b->run++) {
		notify_init(&batch_fin);
		atomic_store(&batch_left, SB_TASKS);
		b->t0 = arch_timer_now();
		for (b->i = 0; b->i < SB_TASKS; b->i++) {
			struct worker_task w = { { &worker_vtable }, b->i * 7919u + b->run };
			if (KSPAWN(w, "batch", NULL) != TASK_OK)
				printf("kbench smp: spawn failed\n");
		}
		notified_init(&b->done, &batch_fin);
		AWAIT(b, notified_poll(&b->done, cx));
		b->ticks[b->run] = arch_timer_now() - b->t0;
		b->work_ticks += b->ticks[b->run];
	}
	counters(&b->steals1, &b->parks1);
	{
		uint64_t secs_x1000 = b->work_ticks * 1000 / arch_timer_freq();
		if (secs_x1000 == 0)
			secs_x1000 = 1;
		printf("bench smp_batch_h%u %llu ticks\n", n,
		       (unsigned long long)kbench_median(b->ticks, SB_RUNS));
		printf("bench smp_steals_per_s_h%u %llu per_s\n", n,
		       (unsigned long long)((b->steals1 - b->steals0) * 1000 / secs_x1000));
		printf("bench smp_parks_per_s_h%u %llu per_s\n", n,
		       (unsigned long long)((b->parks1 - b->parks0) * 1000 / secs_x1000));
	}
	if (n >= 2) {
		notify_init(&lat_kick);
		notify_init(&lat_ack);
		atomic_store(&lat_n, 0);
		{
			struct receiver r = { .base = { &receiver_vtable }, .state = ASYNC_INIT };
			struct task_desc d = TASK_DESC_VOID(r, "receiver");
			d.pin = 1 + 1; /* hart 1 */
			if (task_spawn(&kernel_exec, KTASK_POOL_FOR(sizeof(r)), &d, NULL) != TASK_OK)
				printf("kbench smp: spawn failed\n");
		}
		for (b->i = 0; b->i < SB_LAT_SAMPLES; b->i++) {
			sleep_for(&b->s, exec_wheel(&kernel_exec), ktimer_now_ns(), SB_LAT_GAP_NS);
			AWAIT(b, sleep_poll(&b->s, cx));
			sleep_drop(&b->s);
			atomic_store(&lat_sent, arch_timer_now());
			notify_one(&lat_kick);
			notified_init(&b->done, &lat_ack);
			AWAIT(b, notified_poll(&b->done, cx));
		}
		printf("bench smp_wake_latency %llu ticks\n",
		       (unsigned long long)kbench_median(lat, SB_LAT_SAMPLES));
	}
	arch_power_off(0);
	ASYNC_END(b);
}

void kbench_smp_start(void)
{
	static const struct future_vtable vt = { bench_poll, NULL };
	memset(&bench, 0, sizeof(bench));
	bench.base.vtable = &vt;
	/* On hart 0, so the latency receiver (hart 1) is always another hart. */
	struct task_desc d = TASK_DESC_VOID(bench, "kbench-smp");
	d.pin = 1;
	if (task_spawn(&kernel_exec, KTASK_POOL_FOR(sizeof(bench)), &d, NULL) != TASK_OK)
		printf("kbench smp: cannot spawn\n");
}
