/* In-kernel benchmarks ("kbench" on the command line), counted in guest instructions. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/mpsc.h"
#include "executor/timer.h"
#include "kernel/kbench/kbench.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"
#include "kernel/panic.h"
#include "kernel/proc.h"

/*
 * Run under -icount shift=0 (scripts/bench.sh does), where the instruction
 * counter counts guest instructions exactly: each figure is the median of
 * KB_RUNS runs, printed as "bench <name> <median> <unit>".
 */
#define KB_RUNS 11


static uint64_t samples[KB_RUNS];

uint64_t kbench_median(uint64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) /* insertion sort: n is tiny */
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* ---- the trivial task ---------------------------------------------------*/

struct nop_task {
	struct future base;
};

static enum poll nop_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	return POLL_READY;
}

static const struct future_vtable nop_vtable = { nop_poll, NULL };

/* ---- ping-pong partner: receives on `in`, answers on `out` --------------*/

struct ponger {
	struct future base;
	int state;
	struct mpsc *in, *out;
	unsigned n, i;
	int v;
	struct mpsc_recv rx;
	struct mpsc_send tx;
};

static enum poll ponger_poll(struct future *f, struct context *cx)
{
	struct ponger *p = (struct ponger *)f;
	ASYNC_BEGIN(p);
	for (p->i = 0; p->i < p->n; p->i++) {
		mpsc_recv_init(&p->rx, p->in, &p->v);
		AWAIT(p, mpsc_recv_poll(&p->rx, cx));
		mpsc_send_init(&p->tx, p->out, &p->v);
		AWAIT(p, mpsc_send_poll(&p->tx, cx));
	}
	ASYNC_END(p);
}

static const struct future_vtable ponger_vtable = { ponger_poll, NULL };

/* ---- the driver ---------------------------------------------------------*/

#define SPAWN_BATCH 200
#define PINGS 200
#define LAT_SLEEP_NS 200000ull

struct kbench {
	struct future base;
	int state;
	unsigned run, i;
	uint64_t t0;
	struct join_handle jh;
	struct sleep s;
	struct mpsc ping, pong;
	int ping_slot, pong_slot, v;
	struct mpsc_send tx;
	struct mpsc_recv rx;
};

static enum poll kbench_poll(struct future *f, struct context *cx)
{
	struct kbench *b = (struct kbench *)f;
	/* Read first: for the latency run this is "the first instruction of
	 * the woken task's poll" (give or take the counter read). */
	uint64_t entry = arch_instret();

	ASYNC_BEGIN(b);

	/* Interrupt to poll: sleep on the wheel; trap_timer records the
	 * counter as it was at the trap vector's first instruction
	 * (arch_trap_stamp); we read it when polled again. */
	for (b->run = 0; b->run < KB_RUNS; b->run++) {
		sleep_for(&b->s, exec_wheel(&kernel_exec), ktimer_now_ns(), LAT_SLEEP_NS);
		ktimer_irq_mark = 1;
		AWAIT(b, sleep_poll(&b->s, cx));
		samples[b->run] = (uint32_t)(entry - ktimer_irq_mark);
		ktimer_irq_mark = 0;
	}
	printf("bench irq_to_poll %llu instructions\n",
	       (unsigned long long)kbench_median(samples, KB_RUNS));

	/* Spawn + join of a trivial task, batches of SPAWN_BATCH. */
	for (b->run = 0; b->run < KB_RUNS; b->run++) {
		b->t0 = arch_instret();
		for (b->i = 0; b->i < SPAWN_BATCH; b->i++) {
			struct nop_task t = { { &nop_vtable } };
			if (KSPAWN(t, "nop", &b->jh) != TASK_OK)
				panic("kbench: spawn failed");
			b->jh.out = NULL;
			AWAIT(b, join_handle_poll(&b->jh, cx));
		}
		samples[b->run] = (arch_instret() - b->t0) / SPAWN_BATCH;
	}
	printf("bench kspawn_join %llu instructions\n",
	       (unsigned long long)kbench_median(samples, KB_RUNS));

	/* Wake ping-pong through two bounded(1) channels. */
	for (b->run = 0; b->run < KB_RUNS; b->run++) {
		mpsc_init(&b->ping, &b->ping_slot, sizeof(int), 1);
		mpsc_init(&b->pong, &b->pong_slot, sizeof(int), 1);
		struct ponger p = { .base = { &ponger_vtable }, .state = ASYNC_INIT,
				    .in = &b->ping, .out = &b->pong, .n = PINGS };
		if (KSPAWN(p, "ponger", NULL) != TASK_OK)
			panic("kbench: spawn failed");
		b->t0 = arch_instret();
		for (b->i = 0; b->i < PINGS; b->i++) {
			b->v = (int)b->i;
			mpsc_send_init(&b->tx, &b->ping, &b->v);
			AWAIT(b, mpsc_send_poll(&b->tx, cx));
			mpsc_recv_init(&b->rx, &b->pong, &b->v);
			AWAIT(b, mpsc_recv_poll(&b->rx, cx));
			if (b->v != (int)b->i)
				panic("kbench: ping-pong got %d, expected %u", b->v, b->i);
		}
		samples[b->run] = (arch_instret() - b->t0) / PINGS;
	}
	printf("bench kpingpong_roundtrip %llu instructions\n",
	       (unsigned long long)kbench_median(samples, KB_RUNS));

	printf("bench ktask_bytes %llu bytes\n",
	       (unsigned long long)TASK_SIZE(sizeof(struct nop_task)));
	/* A process: its task slot and process-table entry (no page tables). */
	printf("bench kproc_bytes %llu bytes\n", (unsigned long long)proc_kernel_bytes());
	/* On top, for a process that has used FP/SIMD: its save area. */
	printf("bench kproc_fp_bytes %llu bytes\n", (unsigned long long)proc_kernel_fp_bytes());
	kbench_trace();
	printf("kbench: done\n");
	arch_power_off(EXIT_OK);
	ASYNC_END(b);
}

static const struct future_vtable kbench_vtable = { kbench_poll, NULL };

void kbench_start(void)
{
	struct kbench b = { .base = { &kbench_vtable }, .state = ASYNC_INIT };
	if (KSPAWN(b, "kbench", NULL) != TASK_OK)
		panic("kbench: cannot spawn");
}
