/* In-kernel tests of virtio-net and the stack: pings of QEMU's gateway, a confused device's short frame, waiting for transmit room. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "executor/notify.h"
#include "executor/timer.h"
#include "kernel/ktask.h"
#include "kernel/ktest/ktest.h"
#include "kernel/ktimer.h"
#include "kernel/net/net_kernel.h"
#include "kernel/virtio_net.h"

/* Echo replies seen by the handler (it runs in the stack's task). */
static struct notify echo_notify;
static volatile unsigned echo_count;
static volatile uint16_t echo_last_seq;
static volatile bool echo_bad;

#define PING_ID 0x5058
static const char payload[] = "pollux ping payload 0123456789";

static void on_echo(void *arg, uint32_t src, uint16_t id, uint16_t seq, const void *data,
		    size_t len)
{
	(void)arg;
	if (id != PING_ID)
		return;
	if (src != NET_QEMU_GW || len != sizeof(payload) || memcmp(data, payload, len) != 0)
		echo_bad = true;
	echo_last_seq = seq;
	echo_count++;
	notify_one(&echo_notify);
}

static int ping(uint16_t seq)
{
	unsigned long f = netk_lock();
	int r = net_ping_send(NET_QEMU_GW, PING_ID, seq, payload, sizeof(payload),
			      ktimer_now_ns());
	netk_unlock(f);
	return r;
}

struct ping_test {
	struct future base;
	int state;
	unsigned i;
	bool corrupt;          /* the malformed-frame test */
	unsigned got;          /* replies with the expected seq */
	unsigned lost;         /* waits that timed out */
	uint64_t malformed0;
	struct notified n;
	struct sleep nap;
};

/* A reply (any: the caller checks the seq) or 2 s, whichever first. */
static enum poll reply_or_timeout(struct ping_test *t, struct context *cx)
{
	if (notified_poll(&t->n, cx) == POLL_READY)
		return POLL_READY;
	if (sleep_poll(&t->nap, cx) == POLL_READY) {
		t->lost++;
		return POLL_READY;
	}
	return POLL_PENDING;
}

/* The confused device: the next receive completion claims 5 bytes,
 * shorter than the virtio-net header. */
static volatile bool corrupt_next;
static unsigned corrupt_walk(unsigned queue, struct virtq *q, virtq_done_fn done, void *arg)
{
	if (queue == 0 && corrupt_next && q->used.idx != q->last_used) {
		q->used.ring[q->last_used % q->num].len = 5;
		corrupt_next = false;
	}
	return virtq_process_used(q, done, arg);
}

static enum poll ping_poll(struct future *f, struct context *cx)
{
	struct ping_test *t = (struct ping_test *)f;
	ASYNC_BEGIN(t);
	for (t->i = 0; t->i < 4; t->i++) {
		notified_init(&t->n, &echo_notify);
		sleep_for(&t->nap, exec_wheel(&kernel_exec), ktimer_now_ns(), 2000000000ull);
		if (t->corrupt && t->i == 1) {
			t->malformed0 = vnet_stats.rx_malformed;
			corrupt_next = true;
		}
		if (ping((uint16_t)(100 + t->i)) != 0)
			printf("    ping %u: not sent\n", t->i);
		AWAIT(t, reply_or_timeout(t, cx));
		notified_drop(&t->n);
		sleep_drop(&t->nap);
		if (echo_last_seq == 100 + t->i && !echo_bad)
			t->got++;
	}
	ASYNC_END(t);
}

static void ping_drop(struct future *f)
{
	struct ping_test *t = (struct ping_test *)f;
	if (t->state > 0 && t->state != ASYNC_DONE) {
		notified_drop(&t->n);
		sleep_drop(&t->nap);
	}
}

static const struct future_vtable ping_vtable = { ping_poll, ping_drop };
static struct ping_test test;
static unsigned (*saved_walk)(unsigned, struct virtq *, virtq_done_fn, void *);

static struct future *start(bool corrupt)
{
	memset(&test, 0, sizeof(test));
	test.base.vtable = &ping_vtable;
	test.corrupt = corrupt;
	notify_init(&echo_notify);
	echo_count = 0;
	echo_last_seq = 0;
	echo_bad = false;
	saved_walk = vnet_walk_used;
	if (corrupt)
		vnet_walk_used = corrupt_walk;
	unsigned long f = netk_lock();
	net_set_echo_handler(on_echo, NULL);
	netk_unlock(f);
	return &test.base;
}

static bool finish(void)
{
	vnet_walk_used = saved_walk;
	unsigned long f = netk_lock();
	net_set_echo_handler(NULL, NULL);
	netk_unlock(f);
	if (!netk_up()) {
		printf("    no virtio-net device (run through scripts/ktest.sh)\n");
		return false;
	}
	if (!vnet_selfcheck())
		KTEST_FAIL("driver bookkeeping inconsistent (vnet_selfcheck)");
	if (echo_bad)
		KTEST_FAIL("an echo reply came from the wrong address or with other data");
	return true;
}

static struct future *gw_start(void)
{
	return start(false);
}

/* Four pings of 10.0.2.2 (QEMU's gateway answers them even with
 * restrict=on), the first behind an ARP request: all four answered. */
static bool gw_ok(void)
{
	if (!finish())
		return false;
	if (test.got != 4 || test.lost != 0)
		KTEST_FAIL("%u of 4 echo replies, %u waits timed out", test.got, test.lost);
	return true;
}

static struct future *bad_start(void)
{
	return start(true);
}

/* The second reply arrives as a 5-byte completion: reported, counted,
 * dropped, its buffer reposted; the pings before and after are answered. */
static bool bad_ok(void)
{
	if (!finish())
		return false;
	if (vnet_stats.rx_malformed != test.malformed0 + 1)
		KTEST_FAIL("rx_malformed went from %llu to %llu, expected one more",
			   (unsigned long long)test.malformed0,
			   (unsigned long long)vnet_stats.rx_malformed);
	if (test.got != 3 || test.lost != 1)
		KTEST_FAIL("%u of 3 echo replies expected, %u lost (expected 1)", test.got,
			   test.lost);
	return true;
}

/* ---- transmit: a writer that finds no room waits for a completion ---------*/

#define TX_FRAMES 256
static uint8_t tx_frame[VNET_FRAME_MAX];

struct tx_test {
	struct future base;
	int state;
	unsigned sent, waits, first_fill;
	bool plugged;
	int err;
	struct notified n;
};

static enum poll tx_poll(struct future *f, struct context *cx)
{
	struct tx_test *t = (struct tx_test *)f;
	ASYNC_BEGIN(t);
	/* First fill the ring under a plug: the device is not told, so the
	 * attempt after the last free buffer must find no room. */
	vnet_plug();
	t->plugged = true;
	while (t->sent < TX_FRAMES) {
		/* The notified() exists before the attempt, so a completion
		 * between a full vnet_tx and the await is not lost. */
		notified_init(&t->n, &vnet_tx_room);
		t->err = vnet_tx(tx_frame, sizeof(tx_frame));
		if (t->err == VNET_OK) {
			t->sent++;
			notified_drop(&t->n);
			continue;
		}
		if (t->err != VNET_EAGAIN) {
			notified_drop(&t->n);
			break;
		}
		t->waits++;
		if (t->plugged) {
			t->first_fill = t->sent;
			t->plugged = false;
			vnet_unplug(); /* the doorbell: completions will come */
		}
		AWAIT(t, notified_poll(&t->n, cx));
		notified_drop(&t->n);
	}
	if (t->plugged) {
		t->plugged = false;
		vnet_unplug();
	}
	ASYNC_END(t);
}

static void tx_drop(struct future *f)
{
	struct tx_test *t = (struct tx_test *)f;
	if (t->state > 0 && t->state != ASYNC_DONE)
		notified_drop(&t->n);
	if (t->plugged)
		vnet_unplug();
}

static const struct future_vtable tx_vtable = { tx_poll, tx_drop };
static struct tx_test txt;
static uint64_t tx_full0;

/* Full-size broadcast frames of an EtherType nobody speaks (0x88b5, for
 * local experiments): QEMU's user-mode network drops them. */
static struct future *txroom_start(void)
{
	memset(&txt, 0, sizeof(txt));
	txt.base.vtable = &tx_vtable;
	memset(tx_frame, 0xff, 6);
	vnet_mac(tx_frame + 6);
	tx_frame[12] = 0x88;
	tx_frame[13] = 0xb5;
	for (unsigned i = 14; i < sizeof(tx_frame); i++)
		tx_frame[i] = (uint8_t)i;
	tx_full0 = vnet_stats.tx_full;
	return &txt.base;
}

/* 256 frames through a 32-entry queue: the plugged first fill takes
 * exactly the queue's 32 buffers, the next attempt waits, and only a
 * transmit completion can wake it; later fills may wait again. */
static bool txroom_ok(void)
{
	if (!netk_up()) {
		printf("    no virtio-net device (run through scripts/ktest.sh)\n");
		return false;
	}
	if (txt.err != VNET_OK && txt.err != VNET_EAGAIN)
		KTEST_FAIL("vnet_tx failed with %d after %u frames", txt.err, txt.sent);
	if (txt.sent != TX_FRAMES)
		KTEST_FAIL("%u of %u frames sent", txt.sent, TX_FRAMES);
	if (txt.waits == 0 || txt.first_fill != 32)
		KTEST_FAIL("the plugged fill took %u frames, expected the queue's 32",
			   txt.first_fill);
	if (vnet_stats.tx_full - tx_full0 != txt.waits)
		KTEST_FAIL("tx_full moved by %llu, %u waits",
			   (unsigned long long)(vnet_stats.tx_full - tx_full0), txt.waits);
	if (!vnet_selfcheck())
		KTEST_FAIL("driver bookkeeping inconsistent (vnet_selfcheck)");
	printf("    %u frames, %u waits for room\n", txt.sent, txt.waits);
	return true;
}

const struct ktest_async ktest_net_async[] = {
	{ "net_ping_gateway", gw_start, gw_ok },
	{ "net_rx_malformed", bad_start, bad_ok },
	{ "net_tx_room", txroom_start, txroom_ok },
	{ NULL, NULL, NULL },
};
