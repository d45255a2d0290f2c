/* In-kernel tests of lab 5 (interrupt-driven drivers): graded checkpoints (grade/lab*.json). */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/timer.h"
#include "kernel/block_on.h"
#include "kernel/console.h"
#include "kernel/kexec.h"
#include "kernel/ktest.h"
#include "kernel/uart.h"
#include "kernel/virtio_blk.h"

#ifdef KTEST

#define SECT BLK_SECTOR_SIZE

static struct timer_wheel *wheel(void)
{
	return exec_wheel(&kexec);
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

/* ---- tx_irq: writers wait for room; the transmit interrupt drains --------*/

/*
 * Two tasks each write 4 KiB through console_write while the UART models
 * a 16-byte transmit FIFO that empties only between interrupts (struct
 * uart_tx_model).  The console's ring holds 1 KiB, so each writer must
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
	return atomic_load(&tx_finished) == TXW_N && uart_tx_model.len >= TX_EXPECT;
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
	uart_tx_model_start(tx_capture, sizeof(tx_capture), TX_DEPTH);
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
		sleep_for(&t->s, wheel(), kexec_now_ns(), 1000000);
		AWAIT(t, sleep_poll(&t->s, cx));
		uart_tx_model_tick();
		t->idle = uart_tx_model.len == t->last_len ? t->idle + 1 : 0;
		t->last_len = uart_tx_model.len;
	}
	uart_tx_model_stop();
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
	unsigned len = uart_tx_model.len, na = 0, nb = 0;
	printf("    2 writers x %u bytes: %u and %u Pending, %u bytes out through the ring, "
	       "%u UART interrupts (FIFO of %u)\n", TXW_LEN, txw_log[0].pendings,
	       txw_log[1].pendings, len, (unsigned)uart_tx_model.irqs, TX_DEPTH);
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
	if (uart_tx_model.irqs == 0)
		KTEST_FAIL("no UART interrupt drained the ring");
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

#define BAD_START 3072
#define BAD_N 4

static const char *const bad_names[BAD_N] = {
	"id out of range", "id of a free descriptor", "id in the middle of a chain",
	"len too large",
};

static bool test_blk_bad_used(void)
{
	static uint8_t bw[BAD_N * SECT], br[BAD_N * SECT];
	static struct blk_req r;
	struct context cx = { &ktest_count_waker };

	if (blk_capacity() == 0)
		KTEST_FAIL("no virtio-blk disk");
	fill_pattern(bw, BAD_START, BAD_N, arch_timer_now() ^ 0xbadbadull);
	blk_write_init(&r, BAD_START, bw, BAD_N);
	block_on(&r.base);
	if (r.result != BLK_OK)
		KTEST_FAIL("writing the pattern: %s", blk_strerror(r.result));

	for (unsigned kind = 0; kind < BAD_N; kind++) {
		uint64_t mal = blk_stats.malformed, irqs = blk_stats.interrupts;
		unsigned wakes = ktest_count_wakes;

		memset(br, 0, SECT);
		blk_read_init(&r, BAD_START + kind, br, 1);
		/* Masked, so the completion waits for us while the hook
		 * rewrites the device's used entry. */
		unsigned long f = arch_irq_save();
		enum poll p = blk_req_poll(&r, &cx);
		int inj = p == POLL_PENDING ? blk_test_corrupt_used((enum blk_test_fault)kind) : -1;
		arch_irq_restore(f);
		if (p != POLL_PENDING)
			KTEST_FAIL("%s: the request was not submitted (%s)", bad_names[kind],
				   blk_strerror(r.result));
		if (inj != 0)
			KTEST_FAIL("%s: the device did not complete the request", bad_names[kind]);
		/* The interrupt comes now (here, or on the hart it is routed to). */
		uint64_t end = arch_timer_now() + 2 * arch_timer_freq();
		while (blk_stats.interrupts == irqs && arch_timer_now() < end)
			;
		unsigned inflight = blk_inflight(); /* the lock: the handler is done */
		printf("    %s: %llu rejected, request %s, %u woken\n", bad_names[kind],
		       (unsigned long long)(blk_stats.malformed - mal),
		       r.state == BLK_REQ_INFLIGHT ? "still in flight" : "finished",
		       ktest_count_wakes - wakes);
		EXPECT(blk_stats.interrupts != irqs);
		EXPECT(blk_stats.malformed == mal + 1);
		EXPECT(r.state == BLK_REQ_INFLIGHT);
		EXPECT(ktest_count_wakes == wakes);
		EXPECT(inflight == 1);
		EXPECT(blk_selfcheck());

		/* The real entry, once more: now it completes, and wakes. */
		EXPECT(blk_test_redeliver());
		EXPECT(r.state == BLK_REQ_DONE);
		EXPECT(r.result == BLK_OK);
		EXPECT(ktest_count_wakes == wakes + 1);
		EXPECT(memcmp(br, bw + kind * SECT, SECT) == 0);
		EXPECT(blk_inflight() == 0);
	}

	/* And the driver keeps working. */
	memset(br, 0, sizeof(br));
	blk_read_init(&r, BAD_START, br, BAD_N);
	block_on(&r.base);
	EXPECT(r.result == BLK_OK);
	EXPECT(memcmp(br, bw, sizeof(br)) == 0);
	EXPECT(blk_inflight() == 0);
	EXPECT(blk_selfcheck());
	return true;
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

#endif /* KTEST */
