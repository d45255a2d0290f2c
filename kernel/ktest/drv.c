/* In-kernel tests of lab 5 (interrupt-driven drivers): graded checkpoints (grade/lab*.json). */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/timer.h"
#include "kernel/block_on.h"
#include "kernel/console.h"
#include "kernel/ktask.h"
#include "kernel/ktest/ktest.h"
#include "kernel/ktimer.h"
#include "kernel/uart.h"
#include "kernel/virtio_blk.h"

#define SECT BLK_SECTOR_SIZE

static struct timer_wheel *wheel(void)
{
	return exec_wheel(&kernel_exec);
}

/* Every 8-byte word names its sector and position, mixed with a per-run
 * seed: stale data or a sector in the wrong place shows. */
static void fill_pattern(uint8_t *buf, uint64_t first, unsigned nsect, uint64_t seed)
{
	for (unsigned s = 0; s < nsect; s++)
		for (unsigned w = 0; w < SECT / 8; w++) {
			uint64_t v = ((first + s) << 20 | w) ^ seed;
			memcpy(buf + s * SECT + w * 8, &v, 8);
		}
}

/* ---- a slow transmitter: a wrapper of the UART driver's ops -------------*/

/*
 * QEMU's UARTs take every byte at once and raise the transmit interrupt as
 * soon as it is enabled, so a console that never waits for the
 * transmitter works just as well there.  This model, installed over the
 * device's ops (uart_set_ops), makes the UART behave like real hardware:
 * tx_ready is false once `depth` bytes were sent since the last tick, and
 * the transmit interrupt, if the console enabled it, arrives only at the
 * next tx_model_tick() (the test calls it every millisecond: the time a
 * 16-byte FIFO takes at about 160 kbaud): after each UART interrupt
 * (rx_ack runs once per uart_irq) the device's transmit interrupt is
 * masked until then.  Every byte tx sends is recorded in capture[0..cap).
 * The synchronous path (uart_putc) calls the device directly and is not
 * modelled.  Start it with the tx ring empty; nothing may printf until it
 * is stopped.
 */
static struct {
	const struct uart_ops *dev; /* the device's own ops */
	uintptr_t base;
	unsigned depth;
	_Atomic unsigned fill;      /* bytes "in the FIFO" since the last tick */
	_Atomic unsigned irqs;      /* UART interrupts taken while on */
	bool want_irq;              /* what uart.c asked last; under uart_irq_lock */
	bool left_on;               /* want_irq when the model stopped */
	char *capture;
	unsigned cap, len;          /* len counts every byte, also past cap */
} txm;

static void txm_init(uintptr_t base, uint32_t clock_hz)
{
	txm.dev->init(base, clock_hz);
}

/* Every op passes straight through once the model is stopped (depth 0):
 * uart_irq may still be in one after tx_model_stop. */
static int txm_tx_ready(uintptr_t base)
{
	return (!txm.depth || txm.fill < txm.depth) && txm.dev->tx_ready(base);
}

static void txm_tx(uintptr_t base, char c)
{
	if (txm.depth) {
		txm.fill++;
		if (txm.len < txm.cap)
			txm.capture[txm.len] = c;
		txm.len++;
	}
	txm.dev->tx(base, c);
}

static int txm_rx(uintptr_t base)
{
	return txm.dev->rx(base);
}

/* Once per UART interrupt: the modelled "transmitter empty" interrupt
 * has been taken; the next one comes at the next tick. */
static void txm_rx_ack(uintptr_t base)
{
	txm.dev->rx_ack(base);
	unsigned long f = uart_irq_lock();
	if (txm.depth) {
		txm.irqs++;
		txm.dev->tx_irq(base, 0);
	}
	uart_irq_unlock(f);
}

static void txm_rx_irq(uintptr_t base, int on)
{
	txm.dev->rx_irq(base, on);
}

/* uart.c holds uart_irq_lock.  Turning on waits for the next tick. */
static void txm_tx_irq(uintptr_t base, int on)
{
	txm.want_irq = on;
	if (!on || !txm.depth)
		txm.dev->tx_irq(base, on);
}

static const struct uart_ops txm_ops = {
	.name = "slow transmitter model",
	.init = txm_init,
	.tx_ready = txm_tx_ready,
	.tx = txm_tx,
	.rx = txm_rx,
	.rx_ack = txm_rx_ack,
	.rx_irq = txm_rx_irq,
	.tx_irq = txm_tx_irq,
};

static void tx_model_start(char *capture, unsigned cap, unsigned depth)
{
	txm.dev = uart_device(&txm.base);
	txm.capture = capture;
	txm.cap = cap;
	txm.len = 0;
	txm.irqs = 0;
	txm.fill = 0;
	txm.want_irq = false;
	txm.depth = depth;
	uart_set_ops(&txm_ops);
}

/* The modelled FIFO has gone out on the wire: room again, and the
 * "transmitter empty" interrupt if the console asked for it. */
static void tx_model_tick(void)
{
	unsigned long f = uart_irq_lock();
	txm.fill = 0;
	if (txm.want_irq)
		txm.dev->tx_irq(txm.base, 1);
	uart_irq_unlock(f);
}

/* Back to the device's ops; the rest drains at QEMU's speed.  Whether the
 * console had left the transmit interrupt on is kept in txm.left_on. */
static void tx_model_stop(void)
{
	unsigned long f = uart_irq_lock();
	txm.left_on = txm.want_irq;
	txm.depth = 0;
	uart_set_ops(NULL);
	if (txm.want_irq)
		txm.dev->tx_irq(txm.base, 1);
	uart_irq_unlock(f);
}

/* ---- tx_irq: writers wait for room; the transmit interrupt drains --------*/

/*
 * Two tasks each write 4 KiB through console_write while the UART models
 * a 16-byte transmit FIFO that empties only between interrupts (txm,
 * above).  The console's ring holds 1 KiB, so each writer must
 * find it full and wait (Pending), and the bytes can only get out through
 * transmit interrupts.  Writer 0 writes lowercase letters and a newline
 * every 64 bytes (which the console sends as "\r\n"), writer 1 uppercase:
 * whatever the interleaving, each writer's bytes must come out complete
 * and in order, and nothing else.
 */
#define TXW_N 2
#define TXW_LEN 4096
#define TX_DEPTH 16
#define TX_EXPECT (2 * TXW_LEN + TXW_LEN / 64)
#define TX_WAIT_MS 2000

static char txw_buf[TXW_N][TXW_LEN];
static char tx_capture[TX_EXPECT + 256];

static struct {
	unsigned polls, pendings;
	long result;
	bool done;
} txw_log[TXW_N];
static atomic_uint tx_finished;

struct tx_writer {
	struct future base;
	unsigned id;
	bool started;
	struct console_write w;
};

static enum poll tx_writer_poll(struct future *f, struct context *cx)
{
	struct tx_writer *t = (struct tx_writer *)f;
	if (!t->started) {
		console_write_init(&t->w, txw_buf[t->id], TXW_LEN);
		t->started = true;
	}
	txw_log[t->id].polls++;
	if (console_write_poll(&t->w, cx) == POLL_PENDING) {
		txw_log[t->id].pendings++;
		return POLL_PENDING;
	}
	txw_log[t->id].result = t->w.result;
	txw_log[t->id].done = true;
	atomic_fetch_add(&tx_finished, 1);
	return POLL_READY;
}

static void tx_writer_drop(struct future *f)
{
	struct tx_writer *t = (struct tx_writer *)f;
	if (t->started)
		console_write_drop(&t->w);
}

static const struct future_vtable tx_writer_vtable = { tx_writer_poll, tx_writer_drop };

struct tx_test {
	struct future base;
	int state;
	unsigned waited, idle, last_len;
	int spawn_failed;
	struct sleep s;
} tx_test;

static bool tx_all_out(void)
{
	return atomic_load(&tx_finished) == TXW_N && txm.len >= TX_EXPECT;
}

static enum poll tx_test_poll(struct future *f, struct context *cx)
{
	struct tx_test *t = (struct tx_test *)f;
	ASYNC_BEGIN(t);
	unsigned off = (unsigned)ktest_rng() % 26;
	for (unsigned i = 0; i < TXW_LEN; i++) {
		txw_buf[0][i] = i % 64 == 63 ? '\n' : (char)('a' + (i + off) % 26);
		txw_buf[1][i] = (char)('A' + (i * 7 + off) % 26);
	}
	memset(txw_log, 0, sizeof(txw_log));
	atomic_store(&tx_finished, 0);
	/* From here until the model is off, nothing may printf: the
	 * synchronous path would empty the ring behind the model's back. */
	tx_model_start(tx_capture, sizeof(tx_capture), TX_DEPTH);
	for (unsigned i = 0; i < TXW_N; i++) {
		struct tx_writer w = { .base = { &tx_writer_vtable }, .id = i };
		if (KSPAWN(w, "tx-writer", NULL) != TASK_OK)
			t->spawn_failed++;
	}
	/* We are the UART's clock: one FIFO's worth per millisecond.
	 * Bounded: a transmit path that never drains shows as a failure
	 * (and so does one that stops moving bytes once the writers are
	 * done: 100 ticks without a byte are plenty). */
	for (t->waited = 0; !t->spawn_failed && !tx_all_out() && t->waited < TX_WAIT_MS &&
			    !(atomic_load(&tx_finished) == TXW_N && t->idle >= 100);
	     t->waited++) {
		sleep_for(&t->s, wheel(), ktimer_now_ns(), 1000000);
		AWAIT(t, sleep_poll(&t->s, cx));
		tx_model_tick();
		t->idle = txm.len == t->last_len ? t->idle + 1 : 0;
		t->last_len = txm.len;
	}
	tx_model_stop();
	ASYNC_END(t);
}

static struct future *tx_start(void)
{
	static const struct future_vtable vt = { tx_test_poll, NULL };
	memset(&tx_test, 0, sizeof(tx_test));
	tx_test.base.vtable = &vt;
	return &tx_test.base;
}

static bool tx_ok(void)
{
	unsigned len = txm.len, na = 0, nb = 0;
	printf("    2 writers x %u bytes: %u and %u Pending, %u bytes out through the ring, "
	       "%u UART interrupts (FIFO of %u)\n", TXW_LEN, txw_log[0].pendings,
	       txw_log[1].pendings, len, (unsigned)txm.irqs, TX_DEPTH);
	if (tx_test.spawn_failed)
		KTEST_FAIL("cannot spawn the writers");
	for (unsigned i = 0; i < TXW_N; i++) {
		if (!txw_log[i].done)
			KTEST_FAIL("writer %u did not finish within %u ms", i, TX_WAIT_MS);
		if (txw_log[i].result != TXW_LEN)
			KTEST_FAIL("writer %u: result %ld, expected %u", i, txw_log[i].result,
				   TXW_LEN);
		if (txw_log[i].pendings == 0)
			KTEST_FAIL("writer %u never returned Pending: a 4 KiB write cannot fit "
				   "a %u-byte ring", i, CONSOLE_TX_SIZE);
	}
	if (len != TX_EXPECT)
		KTEST_FAIL("%u bytes went out through uart_tx, expected %u (the synchronous "
			   "path does not count)", len, TX_EXPECT);
	/* Split the capture by writer and compare each in order. */
	for (unsigned k = 0; k < len; k++) {
		char c = tx_capture[k];
		if (c >= 'A' && c <= 'Z') {
			if (nb >= TXW_LEN || c != txw_buf[1][nb])
				KTEST_FAIL("writer 1's byte %u is wrong or out of order", nb);
			nb++;
			continue;
		}
		if (na >= TXW_LEN)
			KTEST_FAIL("unexpected byte %#x at output offset %u", (unsigned char)c, k);
		char want = txw_buf[0][na];
		if (want == '\n' && c == '\r' && k + 1 < len && tx_capture[k + 1] == '\n') {
			k++;
		} else if (c != want || c == '\n') {
			KTEST_FAIL("writer 0's byte %u: got %#x, expected %#x%s", na,
				   (unsigned char)c, (unsigned char)want,
				   want == '\n' ? " as \\r\\n" : "");
		}
		na++;
	}
	if (na != TXW_LEN || nb != TXW_LEN)
		KTEST_FAIL("got %u and %u bytes of the writers' %u", na, nb, TXW_LEN);
	if (txm.irqs == 0)
		KTEST_FAIL("no UART interrupt drained the ring");
	if (txm.left_on)
		KTEST_FAIL("the ring is empty but the transmit interrupt was left on "
			   "(ask for it only while bytes wait)");
	return true;
}

/* ---- blk_inflight: each completion wakes its own task ----------------------*/

/*
 * Ten tasks (the queue holds ten requests) each read their own 4 sectors.
 * The first polls all happen under a plug, so the device is handed all
 * ten at once; then each task must be woken exactly once, by its own
 * completion, and find its own data.
 */
#define INF_N 10
#define INF_SECT 4
#define INF_START 2048

static uint8_t inf_w[INF_N * INF_SECT * SECT], inf_r[INF_N * INF_SECT * SECT];
static struct {
	struct blk_req req;   /* here, not in the task: a request must not move */
	unsigned polls;
	int result;
	bool done;
} inf[INF_N];
static atomic_uint inf_first, inf_done;
static struct notify inf_all;

struct inf_child {
	struct future base;
	unsigned id;
	bool started;
};

static enum poll inf_child_poll(struct future *f, struct context *cx)
{
	struct inf_child *c = (struct inf_child *)f;
	unsigned i = c->id;
	enum poll p;

	inf[i].polls++;
	if (!c->started) {
		c->started = true;
		blk_read_init(&inf[i].req, INF_START + i * INF_SECT, inf_r + i * INF_SECT * SECT,
			      INF_SECT);
		p = blk_req_poll(&inf[i].req, cx);
		/* The last first poll rings the doorbell for all of them. */
		if (atomic_fetch_add(&inf_first, 1) + 1 == INF_N)
			blk_unplug();
	} else {
		p = blk_req_poll(&inf[i].req, cx);
	}
	if (p == POLL_PENDING)
		return POLL_PENDING;
	inf[i].result = inf[i].req.result;
	inf[i].done = true;
	if (atomic_fetch_add(&inf_done, 1) + 1 == INF_N)
		notify_one(&inf_all);
	return POLL_READY;
}

static void inf_child_drop(struct future *f)
{
	struct inf_child *c = (struct inf_child *)f;
	if (c->started && !inf[c->id].done)
		blk_req_drop(&inf[c->id].req);
}

static const struct future_vtable inf_child_vtable = { inf_child_poll, inf_child_drop };

struct inf_test {
	struct future base;
	int state;
	bool no_disk;
	int write_result;
	unsigned spawned;
	struct blk_req wr;
	struct notified all;
} inf_test;

static enum poll inf_test_poll(struct future *f, struct context *cx)
{
	struct inf_test *t = (struct inf_test *)f;
	ASYNC_BEGIN(t);
	if (blk_capacity() == 0) {
		t->no_disk = true;
		ASYNC_RETURN(t);
	}
	fill_pattern(inf_w, INF_START, INF_N * INF_SECT, arch_timer_now() * 0x9e3779b97f4a7c15ULL);
	blk_write_init(&t->wr, INF_START, inf_w, INF_N * INF_SECT);
	AWAIT(t, blk_req_poll(&t->wr, cx));
	t->write_result = t->wr.result;
	if (t->write_result != BLK_OK)
		ASYNC_RETURN(t);

	memset(inf_r, 0, sizeof(inf_r));
	memset(inf, 0, sizeof(inf));
	atomic_store(&inf_first, 0);
	atomic_store(&inf_done, 0);
	notify_init(&inf_all);
	blk_stats.inflight_max = 0;
	/* Held across our wait on purpose: the children submit under it and
	 * the last one's first poll unplugs. */
	blk_plug();
	for (t->spawned = 0; t->spawned < INF_N; t->spawned++) {
		struct inf_child c = { .base = { &inf_child_vtable }, .id = t->spawned };
		if (KSPAWN(c, "blk-child", NULL) != TASK_OK)
			break;
	}
	if (t->spawned < INF_N) {
		blk_unplug();
		ASYNC_RETURN(t);
	}
	notified_init(&t->all, &inf_all);
	AWAIT(t, notified_poll(&t->all, cx));
	ASYNC_END(t);
}

static struct future *inf_start(void)
{
	static const struct future_vtable vt = { inf_test_poll, NULL };
	memset(&inf_test, 0, sizeof(inf_test));
	inf_test.base.vtable = &vt;
	return &inf_test.base;
}

static bool inf_ok(void)
{
	if (inf_test.no_disk)
		KTEST_FAIL("no virtio-blk disk");
	if (inf_test.write_result != BLK_OK)
		KTEST_FAIL("writing the pattern: %s", blk_strerror(inf_test.write_result));
	if (inf_test.spawned < INF_N)
		KTEST_FAIL("spawned only %u tasks", inf_test.spawned);
	printf("    %u tasks, %u requests in flight at once\n", INF_N, blk_stats.inflight_max);
	for (unsigned i = 0; i < INF_N; i++) {
		if (inf[i].result != BLK_OK)
			KTEST_FAIL("task %u: %s", i, blk_strerror(inf[i].result));
		if (inf[i].polls != 2)
			KTEST_FAIL("task %u polled %u times; expected 2 (Pending, then woken once "
				   "by its completion)", i, inf[i].polls);
		if (memcmp(inf_r + i * INF_SECT * SECT, inf_w + i * INF_SECT * SECT,
			   INF_SECT * SECT) != 0)
			KTEST_FAIL("task %u read the wrong data", i);
	}
	EXPECT(blk_stats.inflight_max >= 8);
	EXPECT(blk_inflight() == 0);
	EXPECT(blk_selfcheck());
	return true;
}

/* ---- blk_bad_used: malformed used entries are reported, not trusted --------*/

/*
 * A confused device, played by a wrapper of the driver's used-ring walk
 * (blk_walk_used).  Armed with a kind, the next walk that finds the one
 * request in flight completed overwrites the device's used entry with a
 * malformed one of that kind before the real walk looks (the driver's
 * lock is held, so no hart sees the entry in between).  Told to
 * redeliver, the next walk puts the device's real entry back in the same
 * place, as if the device had corrected itself, and has the real walk
 * look at it once more.
 */
enum bad_kind {
	BAD_ID_RANGE,   /* id == queue size, the first one out of range */
	BAD_FREE_ID,    /* id of a free descriptor */
	BAD_MID_CHAIN,  /* id of the chain's second descriptor */
	BAD_LEN,        /* len one more than the chain's writable bytes */
	BAD_N
};

enum { FAULT_OFF, FAULT_ARMED, FAULT_INJECTED, FAULT_REFUSED, FAULT_REDELIVER,
       FAULT_REDELIVERED, FAULT_NOT_REDELIVERED };

static struct {
	unsigned (*real)(struct virtq *q, virtq_done_fn done, void *arg);
	_Atomic int state;
	enum bad_kind kind;
	uint16_t idx;                   /* free-running used index of the entry */
	struct virtq_used_elem real_elem; /* what the device wrote there */
	struct virtq *q;                /* the driver's queue, and its report: */
	void (*report)(void *arg, const struct virtq_fault *f);
	int seen;                       /* the kind virtq reported last, or 0 */
} fault;

/* Wraps the driver's report: which kind of fault virtq found. */
static void record_report(void *arg, const struct virtq_fault *f)
{
	fault.seen = (int)f->kind;
	fault.report(arg, f);
}

static void corrupt_used(struct virtq *q)
{
	volatile struct virtq_used *u = &q->used;

	if (u->idx == q->last_used)
		return; /* nothing new (not our interrupt): stay armed */
	q->barrier();
	uint16_t idx = q->last_used;
	volatile struct virtq_used_elem *e = &u->ring[idx % q->num];
	struct virtq_used_elem real = { e->id, e->len }, bad = real;
	if (q->inflight != 1 || real.id >= q->num || q->state[real.id] != VIRTQ_D_HEAD) {
		/* Not the situation the test set up, or the device itself is
		 * confused: not this test's business. */
		fault.state = FAULT_REFUSED;
		return;
	}
	switch (fault.kind) {
	case BAD_ID_RANGE:
		bad.id = q->num;
		break;
	case BAD_FREE_ID:
		bad.id = q->free_head;
		break;
	case BAD_MID_CHAIN:
		bad.id = q->link[real.id];
		break;
	case BAD_LEN:
	default:
		bad.len = q->wlen[real.id] + 1;
		break;
	}
	e->id = bad.id;
	e->len = bad.len;
	q->barrier();
	fault.idx = idx;
	fault.real_elem = real;
	fault.state = FAULT_INJECTED;
}

static void redeliver_used(struct virtq *q)
{
	if (q->broken || (uint16_t)(q->last_used - 1) != fault.idx ||
	    *(volatile uint16_t *)&q->used.idx != q->last_used) {
		fault.state = FAULT_NOT_REDELIVERED;
		return;
	}
	volatile struct virtq_used_elem *e = &q->used.ring[fault.idx % q->num];
	e->id = fault.real_elem.id;
	e->len = fault.real_elem.len;
	q->barrier();
	q->last_used = fault.idx; /* look at that entry once more */
	fault.state = FAULT_REDELIVERED;
}

static unsigned faulty_walk(struct virtq *q, virtq_done_fn done, void *arg)
{
	if (!fault.q) {
		fault.q = q;
		fault.report = q->report;
		q->report = record_report;
	}
	if (fault.state == FAULT_ARMED)
		corrupt_used(q);
	else if (fault.state == FAULT_REDELIVER)
		redeliver_used(q);
	return fault.real(q, done, arg);
}

#define BAD_START 3072

static const char *const bad_names[BAD_N] = {
	"id out of range", "id of a free descriptor", "id in the middle of a chain",
	"len too large",
};
/* What virtq must call each, checking in the order of docs/virtio.md. */
static const enum virtq_fault_kind bad_kinds[BAD_N] = {
	VIRTQ_FAULT_ID_RANGE, VIRTQ_FAULT_NOT_INFLIGHT, VIRTQ_FAULT_NOT_INFLIGHT, VIRTQ_FAULT_LEN,
};

/* Wait (bounded) until the wrapper has left state `from`. */
static int fault_wait(int from)
{
	uint64_t end = arch_timer_now() + 2 * arch_timer_freq();
	while (fault.state == from && arch_timer_now() < end)
		;
	return fault.state;
}

static bool blk_bad_used_run(void)
{
	static uint8_t bw[BAD_N * SECT], br[BAD_N * SECT];
	static struct blk_req r;
	struct context cx = { &ktest_count_waker };

	fill_pattern(bw, BAD_START, BAD_N, arch_timer_now() ^ 0xbadbadull);
	blk_write_init(&r, BAD_START, bw, BAD_N);
	block_on(&r.base);
	if (r.result != BLK_OK)
		KTEST_FAIL("writing the pattern: %s", blk_strerror(r.result));

	for (unsigned kind = 0; kind < BAD_N; kind++) {
		uint64_t mal = blk_stats.malformed;
		unsigned wakes = ktest_count_wakes;

		memset(br, 0, SECT);
		fault.seen = 0;
		blk_read_init(&r, BAD_START + kind, br, 1);
		fault.kind = (enum bad_kind)kind;
		fault.state = FAULT_ARMED;
		enum poll p = blk_req_poll(&r, &cx);
		if (p != POLL_PENDING) {
			fault.state = FAULT_OFF;
			KTEST_FAIL("%s: the request was not submitted (%s)", bad_names[kind],
				   blk_strerror(r.result));
		}
		/* The completion interrupt comes now, here or on the hart it
		 * is routed to, and its walk meets the wrapper. */
		int st = fault_wait(FAULT_ARMED);
		if (st != FAULT_INJECTED) {
			fault.state = FAULT_OFF;
			KTEST_FAIL("%s: %s", bad_names[kind],
				   st == FAULT_ARMED ? "the device did not complete the request"
						     : "the completion was not the test's request");
		}
		unsigned inflight = blk_inflight(); /* the lock: the walk is done */
		printf("    %s: %llu rejected, request %s, %u woken\n", bad_names[kind],
		       (unsigned long long)(blk_stats.malformed - mal),
		       r.state == BLK_REQ_INFLIGHT ? "still in flight" : "finished",
		       ktest_count_wakes - wakes);
		EXPECT(blk_stats.malformed == mal + 1);
		if (fault.seen != (int)bad_kinds[kind])
			KTEST_FAIL("%s: reported as fault kind %d, expected %d", bad_names[kind],
				   fault.seen, (int)bad_kinds[kind]);
		EXPECT(r.state == BLK_REQ_INFLIGHT);
		EXPECT(ktest_count_wakes == wakes);
		EXPECT(inflight == 1);
		EXPECT(blk_selfcheck());

		/* The real entry, once more: now it completes, and wakes. */
		fault.state = FAULT_REDELIVER;
		blk_complete();
		EXPECT(fault.state == FAULT_REDELIVERED);
		EXPECT(r.state == BLK_REQ_DONE);
		EXPECT(r.result == BLK_OK);
		EXPECT(ktest_count_wakes == wakes + 1);
		EXPECT(memcmp(br, bw + kind * SECT, SECT) == 0);
		EXPECT(blk_inflight() == 0);
	}

	/* And the driver keeps working. */
	fault.state = FAULT_OFF;
	memset(br, 0, sizeof(br));
	blk_read_init(&r, BAD_START, br, BAD_N);
	block_on(&r.base);
	EXPECT(r.result == BLK_OK);
	EXPECT(memcmp(br, bw, sizeof(br)) == 0);
	EXPECT(blk_inflight() == 0);
	EXPECT(blk_selfcheck());
	return true;
}

static bool test_blk_bad_used(void)
{
	if (blk_capacity() == 0)
		KTEST_FAIL("no virtio-blk disk");
	fault.state = FAULT_OFF;
	fault.real = blk_walk_used;
	fault.q = NULL;
	blk_walk_used = faulty_walk;
	bool ok = blk_bad_used_run();
	blk_walk_used = fault.real;
	if (fault.q)
		fault.q->report = fault.report;
	return ok;
}

const struct ktest_sync ktest_drv_sync[] = {
	{ "blk_bad_used", test_blk_bad_used },
	{ NULL, NULL },
};

const struct ktest_async ktest_drv_async[] = {
	{ "tx_irq", tx_start, tx_ok },
	{ "blk_inflight", inf_start, inf_ok },
	{ NULL, NULL, NULL },
};
