/* Host tests of TCP: scripted segments against one stack, and two stacks over a lossy fake link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/hosttest/check.h"
#include "kernel/net/hosttest/fakelink.h"
#include "kernel/net/net_impl.h"

#define SEC 1000000000ull
#define MS 1000000ull

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static uint64_t now;
static uint8_t fr[FAKE_FRAME_MAX + 64];

/* ---- memory: malloc, with a count of what is out ------------------------- */

static long mem_out;
static unsigned mem_fail_after = ~0u;   /* allocations left before they fail */

static void *t_alloc(void *arg, size_t size)
{
	(void)arg;
	if (mem_fail_after == 0)
		return NULL;
	mem_fail_after--;
	mem_out += (long)size;
	return calloc(1, size);
}

static void t_free(void *arg, void *p, size_t size)
{
	(void)arg;
	if (p)
		mem_out -= (long)size;
	free(p);
}

/* Buffer pieces come filled with garbage, as the kernel's (not zeroed)
 * may: nothing may depend on their contents before TCP writes them. */
static void *t_alloc_buf(void *arg, size_t size)
{
	uint8_t *p = t_alloc(arg, size);
	if (p)
		memset(p, 0xa5, size);
	return p;
}

static const struct tcp_mem tmem = { t_alloc, t_free, NULL, t_alloc_buf };

/* ---- one stack, a scripted peer at IP_PEER ------------------------------- */

static uint16_t pport = 5000, lport = 80;

static void start(void)
{
	static const uint8_t zero[6];
	fake_start();
	tcp_init(&tmem);
	mem_fail_after = ~0u;
	now = 0;
	net_input(fr, fake_arp(fr, 1, mac_peer, IP_PEER, zero, IP_US, eth_broadcast), 0);
	fake_clear();
	pport = 5000;
	lport = 80;
}

/* Every connection gone, every byte given back. */
static void finish(void)
{
	tcp_free_all();
	CHECK_EQ(tcp_stats.conns_alive, 0);
	CHECK_EQ(mem_out, 0);
	CHECK_EQ(fake.bad, 0);
}

static size_t build_seg(uint8_t *t, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
			uint32_t ack, uint16_t wnd, const void *data, size_t len, uint16_t mss)
{
	size_t h = mss ? 24 : 20;
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)(h / 4 << 4);
	t[13] = flags;
	put16(t + 14, wnd);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (mss) {
		t[20] = 2;
		t[21] = 4;
		put16(t + 22, mss);
	}
	if (len)
		memcpy(t + h, data, len);
	put16(t + 16, (uint16_t)~net_csum_fold(net_csum_add(
		tcp_pseudo_sum(IP_PEER, IP_US, h + len), t, h + len)));
	return h + len;
}

/* A segment from the peer (pport -> lport), window wnd. */
static void seg_w(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, const void *data,
		  size_t len)
{
	uint8_t t[NET_ETH_MTU];
	size_t n = build_seg(t, pport, lport, flags, seq, ack, wnd, data, len, 0);
	net_input(fr, fake_ip(fr, mac_peer, IP_PEER, IP_US, IP_PROTO_TCP, t, n), now);
}

static void seg(uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t len)
{
	seg_w(flags, seq, ack, 8192, data, len);
}

static void syn_mss(uint32_t seq, uint16_t mss)
{
	uint8_t t[64];
	size_t n = build_seg(t, pport, lport, F_SYN, seq, 0, 8192, NULL, 0, mss);
	net_input(fr, fake_ip(fr, mac_peer, IP_PEER, IP_US, IP_PROTO_TCP, t, n), now);
}

/* Run the timers at the next TCP deadline.  The peer's ARP entry is
 * refreshed first (a reply, which the stack does not answer), so that
 * long runs of timers do not turn TCP output into ARP requests. */
static void tick(void)
{
	static const uint8_t zero[6];
	now = tcp_next_deadline();
	uint8_t f[64];
	net_input(f, fake_arp(f, 2, mac_peer, IP_PEER, zero, IP_US, mac_us), now);
	net_timer(now);
}

struct out {
	bool ok;                 /* a TCP segment to the peer with a right checksum */
	uint16_t sport, dport, wnd, mss;
	uint32_t seq, ack;
	uint8_t flags;
	size_t len;
	const uint8_t *data;
};

static struct out sent(unsigned i)
{
	static const uint8_t none[FAKE_FRAME_MAX];
	struct out o;
	memset(&o, 0, sizeof(o));
	o.data = none;
	if (i >= fake.n || i >= FAKE_FRAMES)
		return o;
	const uint8_t *f = fake.frame[i], *h = f + NET_ETH_HDR, *t = h + NET_IP_HDR;
	if (get16(f + 12) != ETH_TYPE_IPV4 || h[9] != IP_PROTO_TCP)
		return o;
	size_t tl = get16(h + 2) - NET_IP_HDR, hl = (size_t)(t[12] >> 4) * 4;
	o.ok = get32(h + 16) == IP_PEER && hl >= 20 && hl <= tl &&
	       net_csum_fold(net_csum_add(tcp_pseudo_sum(IP_US, IP_PEER, tl), t, tl)) == 0xffff;
	o.sport = get16(t);
	o.dport = get16(t + 2);
	o.seq = get32(t + 4);
	o.ack = get32(t + 8);
	o.flags = t[13];
	o.wnd = get16(t + 14);
	if (hl == 24 && t[20] == 2 && t[21] == 4)
		o.mss = get16(t + 22);
	o.len = tl - hl;
	o.data = t + hl;
	return o;
}

static struct out last(void)
{
	return sent(fake.n ? fake.n - 1 : 0);
}

/* Our next sequence number and the peer's, in the connection at hand. */
static uint32_t us, them;

/* LISTEN on lport, handshake from a peer whose ISN is isn: the accepted
 * connection in ESTABLISHED (listener in *lp). */
static struct tcp_conn *passive(uint32_t isn, struct tcp_conn **lp)
{
	struct tcp_conn *l, *c = NULL;
	CHECK_EQ(tcp_listen(lport, 4, &l), 0);
	CHECK_EQ(tcp_state(l), TCP_LISTEN);
	fake_clear();
	syn_mss(isn, 1000);
	struct out o = sent(0);
	CHECK_EQ(fake.n, 1);
	CHECK(o.ok);
	CHECK_EQ(o.flags, F_SYN | F_ACK);
	CHECK_EQ(o.ack, isn + 1);
	CHECK_EQ(o.mss, TCP_MSS);
	CHECK_EQ(tcp_accept(l, &c), NET_EAGAIN);   /* still SYN_RECEIVED */
	us = o.seq + 1;
	them = isn + 1;
	fake_clear();
	seg(F_ACK, them, us, NULL, 0);
	CHECK_EQ(fake.n, 0);
	CHECK_EQ(tcp_events(l), TCP_EV_ACCEPTABLE);
	CHECK_EQ(tcp_accept(l, &c), 0);
	CHECK_EQ(tcp_events(l), 0);
	CHECK(c != NULL);
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	*lp = l;
	return c;
}

/* An active open to the peer, answered with SYN,ACK (ISN isn, MSS 1000). */
static struct tcp_conn *active(uint32_t isn)
{
	struct tcp_conn *c = NULL;
	fake_clear();
	CHECK_EQ(tcp_connect(lport, IP_PEER, pport, now, &c), 0);
	struct out o = sent(0);
	CHECK(o.ok);
	CHECK_EQ(o.flags, F_SYN);
	CHECK_EQ(o.mss, TCP_MSS);
	CHECK_EQ(tcp_state(c), TCP_SYN_SENT);
	us = o.seq + 1;
	them = isn + 1;
	fake_clear();
	uint8_t t[64];
	size_t n = build_seg(t, pport, lport, F_SYN | F_ACK, isn, us, 8192, NULL, 0, 1000);
	net_input(fr, fake_ip(fr, mac_peer, IP_PEER, IP_US, IP_PROTO_TCP, t, n), now);
	o = sent(0);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(o.flags, F_ACK);
	CHECK_EQ(o.seq, us);
	CHECK_EQ(o.ack, them);
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	CHECK(tcp_events(c) & TCP_EV_CONNECTED);
	CHECK(tcp_events(c) & TCP_EV_WRITABLE);
	fake_clear();
	return c;
}

static unsigned notified;
static void on_notify(void *arg, unsigned ev)
{
	(void)ev;
	(*(unsigned *)arg)++;
}

/* ---- the tests ------------------------------------------------------------*/

static void test_passive_data(void)
{
	start();
	struct tcp_conn *l, *c = passive(1000, &l);
	uint32_t lip, rip;
	uint16_t lp, rp;
	tcp_addrs(c, &lip, &lp, &rip, &rp);
	CHECK(lip == IP_US && lp == 80 && rip == IP_PEER && rp == 5000);
	notified = 0;
	tcp_set_notify(c, on_notify, &notified);
	/* Data in: acknowledged at once, readable. */
	seg(F_ACK | F_PSH, them, us, "hello", 5);
	CHECK(notified > 0);
	CHECK_EQ(last().ack, them + 5);
	them += 5;
	CHECK(tcp_events(c) & TCP_EV_READABLE);
	char b[16];
	CHECK_EQ(tcp_recv(c, b, sizeof(b), now), 5);
	CHECK(memcmp(b, "hello", 5) == 0);
	CHECK_EQ(tcp_recv(c, b, sizeof(b), now), NET_EAGAIN);
	/* Data out, cut to the peer's MSS (1000). */
	static uint8_t big[3000];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	fake_clear();
	CHECK_EQ(tcp_send(c, big, sizeof(big), now), 3000);
	CHECK_EQ(fake.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		struct out o = sent(i);
		CHECK(o.ok);
		CHECK_EQ(o.len, 1000);
		CHECK_EQ(o.seq, us + 1000 * i);
		CHECK(memcmp(o.data, big + 1000 * i, 1000) == 0);
	}
	seg(F_ACK, them, us + 3000, NULL, 0);
	us += 3000;
	/* A bad checksum is dropped and counted, not answered. */
	uint8_t t[64];
	size_t n = build_seg(t, pport, lport, F_ACK, them, us, 8192, "x", 1, 0);
	t[n - 1] ^= 1;
	fake_clear();
	net_input(fr, fake_ip(fr, mac_peer, IP_PEER, IP_US, IP_PROTO_TCP, t, n), now);
	CHECK_EQ(tcp_stats.bad_checksum, 1);
	CHECK_EQ(fake.n, 0);
	/* Its byte went nowhere: a good segment at the same sequence is
	 * what the reader gets (the bad one was summed as it was copied to
	 * the free part of the ring). */
	CHECK_EQ(tcp_recv(c, b, sizeof(b), now), NET_EAGAIN);
	seg(F_ACK, them, us, "y", 1);
	them += 1;
	CHECK_EQ(tcp_recv(c, b, sizeof(b), now), 1);
	CHECK_EQ(b[0], 'y');
	fake_clear();
	/* A header length past the end is bad. */
	n = build_seg(t, pport, lport, F_ACK, them, us, 8192, NULL, 0, 0);
	t[12] = 0xf0;
	net_input(fr, fake_ip(fr, mac_peer, IP_PEER, IP_US, IP_PROTO_TCP, t, n), now);
	CHECK_EQ(tcp_stats.bad_segs, 1);
	CHECK_EQ(fake.n, 0);
	tcp_close(c, now);
	tcp_close(l, now);
	finish();
}

/* Segments to no socket get RST (RFC 9293 3.10.7.1); RST gets nothing. */
static void test_reset_no_socket(void)
{
	start();
	syn_mss(777, 0);
	struct out o = last();
	CHECK_EQ(fake.n, 1);
	CHECK(o.ok);
	CHECK_EQ(o.flags, F_RST | F_ACK);
	CHECK_EQ(o.seq, 0);
	CHECK_EQ(o.ack, 778);
	fake_clear();
	seg(F_ACK, 5, 12345, NULL, 0);
	o = last();
	CHECK_EQ(o.flags, F_RST);
	CHECK_EQ(o.seq, 12345);
	fake_clear();
	seg(F_RST, 5, 0, NULL, 0);
	CHECK_EQ(fake.n, 0);
	CHECK_EQ(tcp_stats.resets_tx, 2);
	/* A listener answers a stray ACK with RST too. */
	struct tcp_conn *l;
	CHECK_EQ(tcp_listen(80, 1, &l), 0);
	CHECK_EQ(tcp_listen(80, 1, &l), NET_EADDRINUSE);
	fake_clear();
	seg(F_ACK, 5, 999, NULL, 0);
	CHECK_EQ(last().flags, F_RST);
	CHECK_EQ(last().seq, 999);
	tcp_close(l, now);
	finish();
}

static void test_active_open(void)
{
	start();
	struct tcp_conn *c = active(0x5000);
	CHECK_EQ(tcp_stats.active_opens, 1);
	tcp_close(c, now);
	/* Refused: RST,ACK to our SYN. */
	lport = 81;
	CHECK_EQ(tcp_connect(lport, IP_PEER, pport, now, &c), 0);
	us = last().seq + 1;
	seg(F_RST | F_ACK, 0, us + 1, NULL, 0);        /* wrong ACK: ignored */
	CHECK_EQ(tcp_state(c), TCP_SYN_SENT);
	seg(F_RST | F_ACK, 0, us, NULL, 0);
	CHECK_EQ(tcp_state(c), TCP_CLOSED);
	CHECK_EQ(tcp_error(c), NET_ECONNREFUSED);
	CHECK(tcp_events(c) & TCP_EV_ERROR);
	CHECK_EQ(tcp_recv(c, fr, 1, now), NET_ECONNREFUSED);
	tcp_close(c, now);
	/* A SYN,ACK acknowledging something else gets RST. */
	lport = 82;
	CHECK_EQ(tcp_connect(lport, IP_PEER, pport, now, &c), 0);
	us = last().seq + 1;
	fake_clear();
	seg(F_SYN | F_ACK, 100, us + 5, NULL, 0);
	CHECK_EQ(last().flags, F_RST);
	CHECK_EQ(last().seq, us + 5);
	CHECK_EQ(tcp_state(c), TCP_SYN_SENT);
	/* No answer at all: the SYN is sent again, then ETIMEDOUT. */
	fake_clear();
	unsigned syns = 0;
	for (int i = 0; i < 100 && tcp_state(c) == TCP_SYN_SENT; i++)
		tick();
	for (unsigned i = 0; i < fake.n; i++)
		syns += sent(i).flags == F_SYN;
	CHECK_EQ(syns, TCP_SYN_RETRIES);
	CHECK_EQ(tcp_error(c), NET_ETIMEDOUT);
	tcp_close(c, now);
	/* An ephemeral port. */
	CHECK_EQ(tcp_connect(0, IP_PEER, 80, now, &c), 0);
	uint32_t a, b;
	uint16_t p, q;
	tcp_addrs(c, &a, &p, &b, &q);
	CHECK(p >= TCP_EPHEMERAL_LO);
	CHECK_EQ(tcp_connect(0, 0, 80, now, &c), NET_EINVAL);
	finish();
}

static void test_simultaneous_open(void)
{
	start();
	struct tcp_conn *c;
	CHECK_EQ(tcp_connect(lport, IP_PEER, pport, now, &c), 0);
	us = last().seq + 1;
	fake_clear();
	/* Their SYN crosses ours: SYN_RECEIVED, our SYN again with ACK. */
	seg(F_SYN, 9000, 0, NULL, 0);
	CHECK_EQ(tcp_state(c), TCP_SYN_RECEIVED);
	CHECK_EQ(last().flags, F_SYN | F_ACK);
	CHECK_EQ(last().seq, us - 1);
	CHECK_EQ(last().ack, 9001);
	/* Their SYN,ACK arrives: ESTABLISHED. */
	seg(F_SYN | F_ACK, 9000, us, NULL, 0);
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	CHECK(tcp_events(c) & TCP_EV_CONNECTED);
	tcp_close(c, now);
	finish();
}

/* ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> gone. */
static void test_active_close(void)
{
	start();
	struct tcp_conn *l, *c = passive(1, &l);
	fake_clear();
	CHECK_EQ(tcp_send(c, "ab", 2, now), 2);
	CHECK_EQ(tcp_shutdown(c, now), 0);
	CHECK_EQ(tcp_state(c), TCP_FIN_WAIT_1);
	CHECK_EQ(tcp_send(c, "c", 1, now), NET_EPIPE);
	CHECK_EQ(fake.n, 2);
	CHECK_EQ(sent(1).flags & F_FIN, F_FIN);
	CHECK_EQ(sent(1).seq, us + 2);
	seg(F_ACK, them, us + 3, NULL, 0);
	us += 3;
	CHECK_EQ(tcp_state(c), TCP_FIN_WAIT_2);
	fake_clear();
	seg(F_ACK | F_FIN, them, us, NULL, 0);
	them++;
	CHECK_EQ(tcp_state(c), TCP_TIME_WAIT);
	CHECK_EQ(last().ack, them);
	CHECK_EQ(tcp_recv(c, fr, 1, now), 0);
	/* A retransmitted FIN is acknowledged again. */
	fake_clear();
	seg(F_ACK | F_FIN, them - 1, us, NULL, 0);
	CHECK_EQ(last().flags, F_ACK);
	CHECK_EQ(last().ack, them);
	tcp_close(c, now);
	CHECK_EQ(tcp_stats.conns_alive, 2);   /* listener and the TIME_WAIT */
	CHECK_EQ(tcp_next_deadline(), now + TCP_TIME_WAIT_NS);
	net_timer(now + TCP_TIME_WAIT_NS - 1);
	CHECK_EQ(tcp_stats.conns_alive, 2);
	net_timer(now + TCP_TIME_WAIT_NS);
	CHECK_EQ(tcp_stats.conns_alive, 1);
	CHECK_EQ(tcp_stats.time_wait_ends, 1);
	/* The 4-tuple is free again: a SYN gets a listener's SYN,ACK. */
	fake_clear();
	seg(F_SYN, 50000, 0, NULL, 0);
	CHECK_EQ(last().flags, F_SYN | F_ACK);
	tcp_close(l, now);
	finish();
}

/* A client that reuses its port while our side of the old connection is
 * in TIME_WAIT: a SYN past the old sequence space opens a new connection
 * at once, with an ISN past ours of the old one; an older SYN gets the
 * challenge ACK and the TIME_WAIT stays. */
static void test_time_wait_reopen(void)
{
	start();
	struct tcp_conn *l, *c = passive(7000, &l), *d = NULL;
	uint32_t old_us;
	fake_clear();
	CHECK_EQ(tcp_shutdown(c, now), 0);
	seg(F_ACK, them, ++us, NULL, 0);
	seg(F_ACK | F_FIN, them++, us, NULL, 0);
	CHECK_EQ(tcp_state(c), TCP_TIME_WAIT);
	tcp_close(c, now);
	CHECK_EQ(tcp_stats.conns_alive, 2);
	old_us = us;

	fake_clear();
	syn_mss(them - 1, 1000);                  /* not past the old connection */
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(last().flags, F_ACK);
	CHECK_EQ(last().ack, them);
	CHECK_EQ(tcp_stats.conns_alive, 2);
	CHECK_EQ(tcp_stats.time_wait_reopens, 0);

	fake_clear();
	syn_mss(them + 100000, 1000);
	struct out o = last();
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(o.flags, F_SYN | F_ACK);
	CHECK_EQ(o.ack, them + 100001);
	CHECK((int32_t)(o.seq - (old_us + TCP_BUF)) > 0);
	CHECK_EQ(tcp_stats.time_wait_reopens, 1);
	CHECK_EQ(tcp_stats.conns_alive, 2);       /* the listener and the new child */
	us = o.seq + 1;
	them += 100001;
	seg(F_ACK, them, us, NULL, 0);
	CHECK_EQ(tcp_accept(l, &d), 0);
	CHECK_EQ(tcp_state(d), TCP_ESTABLISHED);
	seg(F_ACK | F_PSH, them, us, "hi", 2);
	CHECK_EQ(tcp_recv(d, fr, sizeof(fr), now), 2);
	tcp_close(d, now);
	tcp_close(l, now);
	finish();
}

/* ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED. */
static void test_passive_close(void)
{
	start();
	struct tcp_conn *c = active(300);
	seg(F_ACK | F_FIN | F_PSH, them, us, "xyz", 3);
	them += 4;
	CHECK_EQ(tcp_state(c), TCP_CLOSE_WAIT);
	CHECK_EQ(last().ack, them);
	char b[8];
	CHECK_EQ(tcp_recv(c, b, 8, now), 3);
	CHECK_EQ(tcp_recv(c, b, 8, now), 0);
	CHECK_EQ(tcp_send(c, "r", 1, now), 1);     /* half-close: we may still send */
	fake_clear();
	tcp_close(c, now);
	CHECK_EQ(tcp_state(c), TCP_LAST_ACK);
	CHECK_EQ(last().flags, F_ACK | F_FIN);
	CHECK_EQ(last().seq, us + 1);
	seg(F_ACK, them, us + 2, NULL, 0);
	CHECK_EQ(tcp_stats.conns_alive, 0);
	finish();
}

/* Both FINs cross: FIN_WAIT_1 -> CLOSING -> TIME_WAIT. */
static void test_simultaneous_close(void)
{
	start();
	struct tcp_conn *c = active(300);
	fake_clear();
	CHECK_EQ(tcp_shutdown(c, now), 0);
	CHECK_EQ(last().flags, F_ACK | F_FIN);
	seg(F_ACK | F_FIN, them, us, NULL, 0);          /* their FIN, ours not acked */
	them++;
	CHECK_EQ(tcp_state(c), TCP_CLOSING);
	seg(F_ACK, them, us + 1, NULL, 0);
	CHECK_EQ(tcp_state(c), TCP_TIME_WAIT);
	/* FIN and the ACK of ours together: straight to TIME_WAIT. */
	lport = 90;
	struct tcp_conn *d = active(700);
	tcp_shutdown(d, now);
	seg(F_ACK | F_FIN, them, us + 1, NULL, 0);
	CHECK_EQ(tcp_state(d), TCP_TIME_WAIT);
	tcp_close(c, now);
	tcp_close(d, now);
	now += TCP_TIME_WAIT_NS;
	net_timer(now);
	CHECK_EQ(tcp_stats.conns_alive, 0);
	finish();
}

/* RST and SYN in every state: an exact RST resets, one elsewhere in the
 * window earns a challenge ACK (RFC 5961), a SYN a challenge ACK. */
static void test_rst_syn_every_state(void)
{
	for (int st = TCP_SYN_RECEIVED; st <= TCP_TIME_WAIT; st++) {
		for (int kind = 0; kind < 3; kind++) {
			start();
			struct tcp_conn *l = NULL, *c = NULL;
			if (st == TCP_SYN_RECEIVED) {
				CHECK_EQ(tcp_listen(lport, 4, &l), 0);
				syn_mss(100, 0);
				us = last().seq + 1;
				them = 101;
			} else {
				c = active(100);
			}
			switch (st) {
			case TCP_FIN_WAIT_1:
				tcp_shutdown(c, now);
				break;
			case TCP_FIN_WAIT_2:
				tcp_shutdown(c, now);
				seg(F_ACK, them, ++us, NULL, 0);
				break;
			case TCP_CLOSE_WAIT:
				seg(F_ACK | F_FIN, them++, us, NULL, 0);
				break;
			case TCP_CLOSING:
				tcp_shutdown(c, now);
				seg(F_ACK | F_FIN, them++, us, NULL, 0);
				break;
			case TCP_LAST_ACK:
				seg(F_ACK | F_FIN, them++, us, NULL, 0);
				tcp_shutdown(c, now);
				break;
			case TCP_TIME_WAIT:
				tcp_shutdown(c, now);
				seg(F_ACK | F_FIN, them++, ++us, NULL, 0);
				break;
			default:
				break;
			}
			struct tcp_conn *x = c;
			if (!x) {
				/* The child of l: find it through its state. */
				CHECK_EQ(tcp_stats.conns_alive, 2);
			} else {
				CHECK_EQ(tcp_state(x), st);
			}
			uint64_t alive = tcp_stats.conns_alive;
			fake_clear();
			if (kind == 0) {
				seg(F_RST, them + 10, 0, NULL, 0);      /* in window, not exact */
				CHECK_EQ(fake.n, 1);
				CHECK_EQ(last().flags, F_ACK);
				CHECK_EQ(last().ack, them);
				CHECK_EQ(tcp_stats.conns_alive, alive);
				if (x)
					CHECK_EQ(tcp_state(x), st);
			} else if (kind == 1) {
				seg(F_SYN, them + 10, 0, NULL, 0);
				CHECK_EQ(fake.n, 1);
				CHECK_EQ(last().flags & (F_ACK | F_RST | F_SYN), F_ACK);
				CHECK_EQ(tcp_stats.conns_alive, alive);
				if (x)
					CHECK_EQ(tcp_state(x), st);
			} else {
				seg(F_RST, them, 0, NULL, 0);
				CHECK_EQ(fake.n, 0);
				if (x) {
					CHECK_EQ(tcp_state(x), TCP_CLOSED);
					int want = (st == TCP_ESTABLISHED || st == TCP_FIN_WAIT_1 ||
						    st == TCP_FIN_WAIT_2 || st == TCP_CLOSE_WAIT)
							   ? NET_ECONNRESET : 0;
					CHECK_EQ(tcp_error(x), want);
				} else {
					CHECK_EQ(tcp_stats.conns_alive, 1);   /* child freed */
				}
			}
			if (failed_checks) {
				printf("    (state %s, kind %d)\n", tcp_state_name(st), kind);
				return;
			}
			if (c)
				tcp_close(c, now);
			if (l)
				tcp_close(l, now);
			finish();
		}
	}
}

/* Sequence numbers across 2^32, both ways. */
static void test_wraparound(void)
{
	start();
	/* Our ISN is hash + now/4 µs: learn the hash, then pick the time
	 * that puts our ISN 1000 below 2^32. */
	struct tcp_conn *c;
	CHECK_EQ(tcp_connect(lport, IP_PEER, pport, 0, &c), 0);
	uint32_t h = last().seq;
	tcp_close(c, now);
	now = (uint64_t)(uint32_t)(0u - 1000u - h) * 4000;
	c = active(0xffffff00u);
	CHECK_EQ(us, 0xfffffc19u);
	/* 3000 bytes each way cross the wrap. */
	static uint8_t out[3000], in[3000], got[3000];
	for (unsigned i = 0; i < 3000; i++) {
		out[i] = (uint8_t)(i * 3);
		in[i] = (uint8_t)(i * 5 + 1);
	}
	fake_clear();
	CHECK_EQ(tcp_send(c, out, 3000, now), 3000);
	CHECK_EQ(fake.n, 3);
	CHECK_EQ(sent(1).seq, us + 1000);
	CHECK(sent(1).seq < 1000);                /* past the wrap */
	CHECK(memcmp(sent(2).data, out + 2000, 1000) == 0);
	seg(F_ACK, them, us + 3000, NULL, 0);
	us += 3000;
	for (unsigned i = 0; i < 3; i++)
		seg(F_ACK, them + 1000 * i, us, in + 1000 * i, 1000);
	CHECK_EQ(last().ack, them + 3000);
	them += 3000;
	CHECK_EQ(tcp_recv(c, got, sizeof(got), now), 3000);
	CHECK(memcmp(got, in, 3000) == 0);
	/* An old segment from before the wrap is a duplicate, not new data. */
	fake_clear();
	seg(F_ACK, them - 3000, us, in, 1000);
	CHECK_EQ(tcp_recv(c, got, sizeof(got), now), NET_EAGAIN);
	CHECK_EQ(last().ack, them);
	tcp_close(c, now);
	finish();
}

/* RTO: doubles on each expiry; Karn: no RTT sample from a retransmitted
 * segment, so the backed-off RTO stays until a clean sample. */
static void test_retransmission(void)
{
	start();
	now = SEC;
	struct tcp_conn *l, *c;
	CHECK_EQ(tcp_listen(lport, 1, &l), 0);
	syn_mss(1, 1000);
	us = last().seq + 1;
	them = 2;
	now += 100 * MS;                            /* the handshake takes 100 ms */
	seg(F_ACK, them, us, NULL, 0);
	CHECK_EQ(tcp_accept(l, &c), 0);
	CHECK_EQ(tcp_debug_srtt(c), 100 * MS);
	uint64_t rto = tcp_debug_rto(c);
	CHECK_EQ(rto, 100 * MS + 4 * 50 * MS);     /* SRTT + 4 RTTVAR */
	fake_clear();
	CHECK_EQ(tcp_send(c, "data", 4, now), 4);
	uint64_t t0 = now;
	CHECK_EQ(tcp_next_deadline(), t0 + rto);
	net_timer(t0 + rto - 1);
	CHECK_EQ(fake.n, 1);
	net_timer(t0 + rto);
	CHECK_EQ(fake.n, 2);
	CHECK_EQ(sent(1).seq, us);
	CHECK_EQ(sent(1).len, 4);
	CHECK_EQ(tcp_next_deadline(), t0 + rto + 2 * rto);
	net_timer(t0 + 3 * rto);
	CHECK_EQ(fake.n, 3);
	CHECK_EQ(tcp_next_deadline(), t0 + 3 * rto + 4 * rto);
	CHECK_EQ(tcp_stats.retransmits, 2);
	/* The ACK comes (for which copy?): no sample, RTO stays doubled. */
	now = t0 + 3 * rto + 10 * MS;
	seg(F_ACK, them, us + 4, NULL, 0);
	us += 4;
	CHECK_EQ(tcp_debug_srtt(c), 100 * MS);
	CHECK_EQ(tcp_debug_rto(c), 4 * rto);
	CHECK_EQ(tcp_next_deadline(), NET_NEVER);
	/* A clean exchange samples again. */
	CHECK_EQ(tcp_send(c, "more", 4, now), 4);
	now += 20 * MS;
	seg(F_ACK, them, us + 4, NULL, 0);
	us += 4;
	CHECK(tcp_debug_srtt(c) < 100 * MS);
	CHECK(tcp_debug_rto(c) < 4 * rto);
	/* Nothing ever acknowledged: TCP_RETRIES tries, then ETIMEDOUT. */
	fake_clear();
	CHECK_EQ(tcp_send(c, "gone", 4, now), 4);
	for (int i = 0; i < 50 && tcp_state(c) == TCP_ESTABLISHED; i++)
		tick();
	CHECK_EQ(tcp_error(c), NET_ETIMEDOUT);
	CHECK_EQ(tcp_stats.rto_timeouts, 1);
	unsigned data = 0;
	for (unsigned i = 0; i < fake.n; i++)
		data += sent(i).len == 4;
	CHECK_EQ(data, 1 + TCP_RETRIES);
	CHECK_EQ(last().flags & F_RST, F_RST);
	CHECK_EQ(tcp_send(c, "x", 1, now), NET_ETIMEDOUT);
	tcp_close(c, now);
	tcp_close(l, now);
	finish();
}

/* After a timeout everything unacknowledged goes again, as ACKs come. */
static void test_go_back(void)
{
	start();
	struct tcp_conn *c = active(10);
	static uint8_t d[3000];
	memset(d, 'g', sizeof(d));
	CHECK_EQ(tcp_send(c, d, 3000, now), 3000);
	CHECK_EQ(fake.n, 3);                          /* all three lost */
	fake_clear();
	tick();
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(sent(0).seq, us);
	fake_clear();
	seg(F_ACK, them, us + 1000, NULL, 0);
	CHECK_EQ(fake.n, 2);                          /* the other two, at once */
	CHECK_EQ(sent(0).seq, us + 1000);
	CHECK_EQ(sent(1).seq, us + 2000);
	CHECK_EQ(tcp_stats.retransmits, 3);
	tcp_close(c, now);
	finish();
}

/* Three duplicate ACKs retransmit the first unacknowledged segment at once. */
static void test_fast_retransmit(void)
{
	start();
	struct tcp_conn *c = active(10);
	static uint8_t d[5000];
	memset(d, 'q', sizeof(d));
	CHECK_EQ(tcp_send(c, d, 5000, now), 5000);
	CHECK_EQ(fake.n, 5);
	seg(F_ACK, them, us + 1000, NULL, 0);        /* the 2nd segment was lost */
	fake_clear();
	seg(F_ACK, them, us + 1000, NULL, 0);
	seg(F_ACK, them, us + 1000, NULL, 0);
	CHECK_EQ(fake.n, 0);
	seg(F_ACK, them, us + 1000, NULL, 0);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(sent(0).seq, us + 1000);
	CHECK_EQ(sent(0).len, 1000);
	CHECK_EQ(tcp_stats.dup_acks, 3);
	CHECK_EQ(tcp_stats.fast_retransmits, 1);
	/* A window change is not a duplicate; the same window again is. */
	seg_w(F_ACK, them, us + 1000, 4000, NULL, 0);
	CHECK_EQ(tcp_stats.dup_acks, 3);
	seg_w(F_ACK, them, us + 1000, 4000, NULL, 0);
	CHECK_EQ(tcp_stats.dup_acks, 4);
	seg_w(F_ACK, them, us + 1000, 5000, NULL, 0);
	CHECK_EQ(tcp_stats.dup_acks, 4);
	tcp_close(c, now);
	finish();
}

/* Segments out of order are held in the window and delivered in order. */
static void test_out_of_order(void)
{
	start();
	struct tcp_conn *c = active(10);
	uint8_t d[3000], got[3000];
	for (unsigned i = 0; i < 3000; i++)
		d[i] = (uint8_t)(i * 7 + 3);
	seg(F_ACK, them + 2000, us, d + 2000, 1000);
	CHECK_EQ(last().ack, them);                  /* a duplicate ACK asks for the gap */
	seg(F_ACK, them + 1000, us, d + 1000, 500);
	CHECK_EQ(last().ack, them);
	CHECK_EQ(tcp_recv(c, got, sizeof(got), now), NET_EAGAIN);
	CHECK_EQ(tcp_stats.ooo_queued, 2);
	seg(F_ACK, them + 1400, us, d + 1400, 700);  /* overlaps both held ranges */
	seg(F_ACK, them, us, d, 1000);
	CHECK_EQ(last().ack, them + 3000);
	CHECK_EQ(tcp_recv(c, got, sizeof(got), now), 3000);
	CHECK(memcmp(got, d, 3000) == 0);
	them += 3000;
	/* A FIN after a gap waits for the gap. */
	seg(F_ACK | F_FIN, them + 500, us, d + 500, 500);
	CHECK_EQ(last().ack, them);
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	seg(F_ACK, them, us, d, 500);
	CHECK_EQ(tcp_state(c), TCP_CLOSE_WAIT);
	CHECK_EQ(last().ack, them + 1001);
	CHECK_EQ(tcp_recv(c, got, sizeof(got), now), 1000);
	CHECK(memcmp(got, d, 1000) == 0);
	CHECK_EQ(tcp_recv(c, got, sizeof(got), now), 0);
	tcp_close(c, now);
	finish();
	start();
	c = active(10);
	/* Bounded: at most TCP_OOO_MAX separate ranges are held. */
	for (unsigned i = 0; i <= TCP_OOO_MAX; i++)
		seg(F_ACK, them + 10 + 20 * i, us, d, 5);
	CHECK_EQ(tcp_stats.ooo_dropped, 1);
	tcp_close(c, now);
	finish();
}

/* Zero windows: ours fills and reopens with an update; theirs is probed. */
static void test_windows(void)
{
	start();
	struct tcp_conn *c = active(10);
	static uint8_t d[1000], got[TCP_BUF];
	memset(d, 'w', sizeof(d));
	unsigned total = 0;
	for (int i = 0; i < 8; i++) {
		seg(F_ACK, them + total, us, d, 1000);
		CHECK_EQ(last().ack, them + total + 1000);
		total += 1000;
	}
	seg(F_ACK, them + total, us, d, 1000);         /* only 192 fit: trimmed */
	total += 192;
	CHECK_EQ(last().ack, them + TCP_BUF);
	CHECK_EQ(last().wnd, 0);
	fake_clear();
	seg(F_ACK, them + total, us, d, 1);             /* zero window: not taken */
	CHECK_EQ(last().ack, them + TCP_BUF);
	CHECK_EQ(tcp_stats.out_of_window, 0);
	/* Reading a little does not announce a silly window... */
	fake_clear();
	CHECK_EQ(tcp_recv(c, got, 100, now), 100);
	CHECK_EQ(fake.n, 0);
	/* ...reading enough does. */
	CHECK_EQ(tcp_recv(c, got, 2000, now), 2000);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(last().wnd, 2100);
	CHECK_EQ(last().ack, them + TCP_BUF);
	them += TCP_BUF;
	/* Their window is zero: nothing goes; probes back off; then open. */
	seg_w(F_ACK, them, us, 0, NULL, 0);
	fake_clear();
	CHECK_EQ(tcp_send(c, "abc", 3, now), 3);
	CHECK_EQ(fake.n, 0);
	uint64_t t1 = tcp_next_deadline();
	CHECK(t1 != NET_NEVER);
	now = t1;
	net_timer(now);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(sent(0).seq, us - 1);                  /* the probe */
	CHECK_EQ(sent(0).len, 0);
	uint64_t t2 = tcp_next_deadline();
	CHECK(t2 - t1 > t1 - 0);
	/* Probes answered with a zero window go on without a timeout. */
	for (int i = 0; i < 3 * TCP_RETRIES; i++) {
		tick();
		seg_w(F_ACK, them, us, 0, NULL, 0);
	}
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	fake_clear();
	seg_w(F_ACK, them, us, 100, NULL, 0);           /* the window opens */
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(sent(0).len, 3);
	CHECK(memcmp(sent(0).data, "abc", 3) == 0);
	tcp_close(c, now);                              /* unread data: RST */
	CHECK_EQ(last().flags & F_RST, F_RST);
	finish();
}

/* A FIN at RCV.NXT is taken even when the window is zero. */
static void test_zero_window_fin(void)
{
	start();
	struct tcp_conn *c = active(10);
	static uint8_t d[TCP_BUF], got[TCP_BUF];
	memset(d, 'f', sizeof(d));
	for (unsigned i = 0; i < TCP_BUF; i += 1024)
		seg(F_ACK, them + i, us, d, 1024);
	them += TCP_BUF;
	CHECK_EQ(last().wnd, 0);
	seg(F_ACK | F_FIN, them, us, NULL, 0);
	CHECK_EQ(tcp_state(c), TCP_CLOSE_WAIT);
	CHECK_EQ(last().ack, them + 1);
	CHECK_EQ(tcp_recv(c, got, sizeof(got), now), TCP_BUF);
	CHECK_EQ(tcp_recv(c, got, sizeof(got), now), 0);
	tcp_close(c, now);
	finish();
}

/* A SYN flood fills the backlog and no more; SYN_RECEIVED times out. */
static void test_backlog(void)
{
	start();
	struct tcp_conn *l, *c;
	CHECK_EQ(tcp_listen(lport, 3, &l), 0);
	for (unsigned i = 0; i < 50; i++) {
		pport = (uint16_t)(6000 + i);
		syn_mss(1000 * i, 0);
	}
	CHECK_EQ(tcp_stats.passive_opens, 3);
	CHECK_EQ(tcp_stats.syn_backlog_full, 47);
	CHECK_EQ(tcp_stats.conns_alive, 4);
	/* One completes and is accepted: room for one more. */
	pport = 6001;
	seg(F_ACK, 1001, last().seq + 1, NULL, 0);     /* wrong ACK: RST, still waiting */
	CHECK_EQ(last().flags, F_RST);
	CHECK_EQ(tcp_accept(l, &c), NET_EAGAIN);
	/* The unanswered children give up. */
	for (int i = 0; i < 20 && tcp_stats.conns_alive > 1; i++)
		tick();
	CHECK_EQ(tcp_stats.conns_alive, 1);
	CHECK(now < 60 * SEC);
	pport = 7000;
	syn_mss(5, 0);
	CHECK_EQ(tcp_stats.passive_opens, 4);
	/* Closing the listener resets the waiting child. */
	fake_clear();
	tcp_close(l, now);
	CHECK_EQ(last().flags & F_RST, F_RST);
	finish();
}

/* A closed connection whose peer never finishes cannot hold memory. */
static void test_orphan_timeout(void)
{
	start();
	struct tcp_conn *c = active(10);
	tcp_close(c, now);
	seg(F_ACK, them, us + 1, NULL, 0);               /* FIN acked: FIN_WAIT_2 */
	CHECK_EQ(tcp_stats.conns_alive, 1);
	net_timer(now + TCP_ORPHAN_NS - 1);
	CHECK_EQ(tcp_stats.conns_alive, 1);
	net_timer(now + TCP_ORPHAN_NS);
	CHECK_EQ(tcp_stats.conns_alive, 0);
	CHECK_EQ(tcp_stats.idle_timeouts, 1);
	/* Data for an orphan: RST. */
	c = active(10);
	tcp_close(c, now);
	fake_clear();
	seg(F_ACK, them, us, "late", 4);
	CHECK_EQ(last().flags & F_RST, F_RST);
	CHECK_EQ(tcp_stats.conns_alive, 0);
	/* Out of memory: a connect fails cleanly. */
	mem_fail_after = 2;
	CHECK_EQ(tcp_connect(lport, IP_PEER, pport, now, &c), NET_ENOMEM);
	mem_fail_after = ~0u;
	finish();
}

/* 1,000 established connections at once: what they cost. */
static void test_thousand(void)
{
	start();
	static struct tcp_conn *cs[1000];
	struct tcp_conn *l;
	CHECK_EQ(tcp_listen(lport, TCP_BACKLOG_MAX, &l), 0);
	long base = mem_out;
	unsigned ok = 0;
	for (unsigned i = 0; i < 1000; i++) {
		pport = (uint16_t)(10000 + i);
		fake_clear();
		syn_mss(i * 100000u, 1460);
		seg(F_ACK, i * 100000u + 1, last().seq + 1, NULL, 0);
		cs[i] = NULL;
		ok += tcp_accept(l, &cs[i]) == 0 && tcp_state(cs[i]) == TCP_ESTABLISHED;
	}
	CHECK_EQ(ok, 1000);
	CHECK_EQ(tcp_stats.conns_alive, 1001);
	long per = (mem_out - base) / 1000;
	/* The connection itself, and two 8 KiB buffers. */
	CHECK(per >= 2 * TCP_BUF && per <= 2 * TCP_BUF + 1024);
	printf("    1000 connections: %ld bytes each from tcp_mem, %ld KiB in all\n", per,
	       (mem_out - base) / 1024);
	for (unsigned i = 0; i < 1000; i++)
		if (cs[i])
			tcp_close(cs[i], now);
	tcp_close(l, now);
	finish();
}

/* ---- two stacks over a lossy link ---------------------------------------*/

struct inst {
	struct net_state net;
	struct net_stats ns;
	struct tcp_global g;
	struct tcp_stats ts;
};
static struct inst insts[2];
static int cur = -1;

static void use(int i)
{
	if (cur == i)
		return;
	if (cur >= 0) {
		insts[cur].net = net;
		insts[cur].ns = net_stats;
		insts[cur].g = tcp_g;
		insts[cur].ts = tcp_stats;
	}
	net = insts[i].net;
	net_stats = insts[i].ns;
	tcp_g = insts[i].g;
	tcp_stats = insts[i].ts;
	cur = i;
}

#define QMAX 512
struct qframe {
	int to;
	size_t len;
	uint8_t data[FAKE_FRAME_MAX];
};
static struct qframe *queue;
static unsigned qn, drop_pct;
static uint64_t lossy_dropped, lossy_duped, lossy_swapped;
static uint32_t rng = 12345;

static unsigned rnd(unsigned n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

static void enqueue(int to, const void *f, size_t len)
{
	if (qn == QMAX)
		return;
	queue[qn].to = to;
	queue[qn].len = len;
	memcpy(queue[qn].data, f, len);
	qn++;
}

/* With link_cap, each side's link takes that many frames a round and
 * refuses the rest with NET_EAGAIN, as a full transmit queue does. */
static unsigned link_cap, link_taken[2];

/* Each side's link: TCP frames are dropped, duplicated and reordered
 * drop_pct % of the time each; ARP goes through. */
static int lossy_send(void *arg, const void *frame, size_t len)
{
	int to = (int)(long)arg;
	const uint8_t *p = frame;
	if (link_cap && link_taken[to]++ >= link_cap)
		return NET_EAGAIN;
	bool tcp = get16(p + 12) == ETH_TYPE_IPV4 && p[NET_ETH_HDR + 9] == IP_PROTO_TCP;
	if (tcp && rnd(100) < drop_pct) {
		lossy_dropped++;
		return 0;
	}
	enqueue(to, frame, len);
	if (tcp && rnd(100) < drop_pct) {
		lossy_duped++;
		enqueue(to, frame, len);
	}
	if (tcp && qn >= 2 && rnd(100) < drop_pct) {
		struct qframe t = queue[qn - 1];
		queue[qn - 1] = queue[qn - 2];
		queue[qn - 2] = t;
		lossy_swapped++;
	}
	return 0;
}

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

/* One round between the two stacks: deliver the frames queued so far
 * (what they cause is queued for the next round), 0.1 ms on; with nothing
 * in flight, on to the earlier of the two stacks' timers, and run both.
 * False when neither stack has a timer left. */
static bool two_stacks_round(struct qframe *batch, uint64_t *t)
{
	/* The link has room again: what it refused goes first. */
	link_taken[0] = link_taken[1] = 0;
	for (int i = 0; i < 2; i++) {
		use(i);
		tcp_link_room(*t);
	}
	unsigned n = qn;
	memcpy(batch, queue, n * sizeof(queue[0]));
	qn = 0;
	for (unsigned i = 0; i < n; i++) {
		use(batch[i].to);
		net_input(batch[i].data, batch[i].len, *t);
	}
	*t += 100000;
	if (n || qn)
		return true;
	use(0);
	uint64_t a = net_timer(*t);
	use(1);
	uint64_t b = net_timer(*t);
	uint64_t next = a < b ? a : b;
	if (next == NET_NEVER)
		return false;
	if (next > *t)
		*t = next;
	use(0);
	net_timer(*t);
	use(1);
	net_timer(*t);
	return true;
}

/* Two stacks (us and the peer) joined by send, with delayed ACK delack
 * (0: off) on both, at time 0: the peer listens on port 80 (*l) and we
 * connect to it (*cli); left on our side. */
static void two_stacks_open(int (*send)(void *, const void *, size_t), uint64_t delack,
			    struct tcp_conn **l, struct tcp_conn **cli)
{
	const uint8_t *macs[2] = { mac_us, mac_peer };
	const uint32_t ips[2] = { IP_US, IP_PEER };
	for (int i = 0; i < 2; i++) {
		struct net_config cfg = { { 0 }, ips[i], NET_QEMU_MASK, NET_QEMU_GW };
		memcpy(cfg.mac, macs[i], 6);
		struct net_link link = { send, (void *)(long)(1 - i), NULL };
		net_init(&cfg, &link);
		tcp_init(&tmem);
		tcp_set_delayed_ack(delack);
		cur = i;
		use(1 - i);
	}
	now = 0;
	use(1);
	CHECK_EQ(tcp_listen(80, 4, l), 0);
	use(0);
	CHECK_EQ(tcp_connect(0, IP_PEER, 80, now, cli), 0);
}

/* The delayed ACK both stacks of the transfer use (0: none). */
static uint64_t transfer_delack;

/* The 1 MiB transfer with drop_pct, rng and transfer_delack set by the
 * caller. */
static void transfer(void)
{
	const uint32_t total = 1u << 20;
	static struct qframe q[QMAX], batch[QMAX];
	queue = q;
	qn = 0;
	lossy_dropped = lossy_duped = lossy_swapped = 0;
	cur = -1;
	struct tcp_conn *l, *srv = NULL, *cli;
	two_stacks_open(lossy_send, transfer_delack, &l, &cli);
	uint32_t put = 0, got = 0;
	bool eof = false, shut = false, bad = false;
	static uint8_t buf[4096];
	unsigned rounds = 0;
	while (!eof && rounds++ < 2000000) {
		use(0);
		while (put < total && (tcp_events(cli) & TCP_EV_CONNECTED)) {
			uint32_t n = total - put < sizeof(buf) ? total - put : sizeof(buf);
			for (uint32_t i = 0; i < n; i++)
				buf[i] = pattern(put + i);
			long r = tcp_send(cli, buf, n, now);
			if (r <= 0)
				break;
			put += (uint32_t)r;
		}
		if (put == total && !shut) {
			CHECK_EQ(tcp_shutdown(cli, now), 0);
			shut = true;
		}
		if (tcp_error(cli))
			break;
		use(1);
		if (!srv && tcp_accept(l, &srv) != 0)
			srv = NULL;
		while (srv) {
			long r = tcp_recv(srv, buf, sizeof(buf), now);
			if (r == 0)
				eof = true;
			if (r <= 0)
				break;
			for (long i = 0; i < r; i++)
				if (buf[i] != pattern(got + (uint32_t)i))
					bad = true;
			got += (uint32_t)r;
		}
		if (!two_stacks_round(batch, &now))
			break;
	}
	CHECK(!bad);
	CHECK_EQ(got, total);
	CHECK(eof);
	use(0);
	uint64_t rexmit = tcp_stats.retransmits;
	CHECK(rexmit > 0 || drop_pct == 0);
	if (link_cap) {
		/* Nothing was lost, only refused and sent again. */
		CHECK_EQ(rexmit, 0);
		CHECK(tcp_stats.link_full > 0);
		printf("    %llu segments refused by the link and sent again\n",
		       (unsigned long long)tcp_stats.link_full);
	}
	CHECK_EQ(tcp_error(cli), 0);
	printf("    1 MiB in %.2f s of fake time: %llu frames dropped, %llu duplicated, "
	       "%llu reordered; %llu retransmits (%llu fast)\n",
	       (double)now / SEC, (unsigned long long)lossy_dropped,
	       (unsigned long long)lossy_duped, (unsigned long long)lossy_swapped,
	       (unsigned long long)rexmit, (unsigned long long)tcp_stats.fast_retransmits);
	tcp_close(cli, now);
	tcp_free_all();
	use(1);
	if (srv)
		tcp_close(srv, now);
	tcp_close(l, now);
	tcp_free_all();
	CHECK_EQ(mem_out, 0);
	cur = -1;
}

/* ---- an HTTP-like exchange under a loss schedule --------------------------
 *
 * The shape of make net-loss: the client (stack 0, slirp's side) opens, sends
 * a request, reads a response of known length and closes; the server (stack
 * 1, the guest's httpd) accepts, reads the request, sends the response and
 * closes when it sees the end.  Which TCP frames are lost is not random but a
 * schedule: frame k of all the TCP frames sent (both ways, in order, k < 64)
 * is dropped if bit k of drop is set, and held back behind the next frame the
 * same way if bit k of hold is set (the loss injector's hold, which in a quiet
 * moment is a delay until the next retransmission).  Every schedule with up
 * to three losses in the first frames must end the exchange in bounded time.
 */
static uint64_t sched_drop, sched_hold;
static unsigned sched_k;
static bool held_on[2];
static struct qframe held[2];

static int sched_send(void *arg, const void *frame, size_t len)
{
	int to = (int)(long)arg;
	const uint8_t *p = frame;
	bool tcp = get16(p + 12) == ETH_TYPE_IPV4 && p[NET_ETH_HDR + 9] == IP_PROTO_TCP;
	unsigned k = tcp ? sched_k++ : 64;
	if (k < 64 && (sched_drop >> k & 1)) {
		lossy_dropped++;
		return 0;
	}
	if (k < 64 && (sched_hold >> k & 1) && !held_on[to]) {
		held_on[to] = true;
		held[to].len = len;
		memcpy(held[to].data, frame, len);
		return 0;
	}
	enqueue(to, frame, len);
	if (held_on[to]) {
		held_on[to] = false;
		enqueue(to, held[to].data, held[to].len);
	}
	return 0;
}

#define REQ_LEN 86u
#define RESP_LEN 3000u

/* One exchange; returns the fake time it took, or NET_NEVER if it was not
 * over (every byte delivered, both ends closed and freed) within limit. */
static uint64_t exchange(uint64_t drop, uint64_t hold, uint64_t limit, char *why, size_t whylen)
{
	static struct qframe q[QMAX], batch[QMAX];
	queue = q;
	qn = 0;
	sched_drop = drop;
	sched_hold = hold;
	sched_k = 0;
	held_on[0] = held_on[1] = false;
	lossy_dropped = 0;
	cur = -1;
	struct tcp_conn *l, *srv = NULL, *cli;
	/* Both ARP caches filled first, so frame 0 is the SYN. */
	two_stacks_open(sched_send, 0, &l, &cli);
	uint32_t req_put = 0, req_got = 0, resp_put = 0, resp_got = 0;
	bool cli_closed = false, srv_closed = false, bad = false;
	static uint8_t buf[4096];
	snprintf(why, whylen, "?");
	uint64_t end = NET_NEVER;
	for (unsigned rounds = 0; rounds < 200000 && now <= limit; rounds++) {
		use(0);
		if (!cli_closed) {
			while (req_put < REQ_LEN && (tcp_events(cli) & TCP_EV_CONNECTED)) {
				for (uint32_t i = 0; i < REQ_LEN - req_put; i++)
					buf[i] = pattern(req_put + i);
				long r = tcp_send(cli, buf, REQ_LEN - req_put, now);
				if (r <= 0)
					break;
				req_put += (uint32_t)r;
			}
			long r;
			while ((r = tcp_recv(cli, buf, sizeof(buf), now)) > 0) {
				for (long i = 0; i < r; i++)
					if (buf[i] != pattern(resp_got + (uint32_t)i + 1000))
						bad = true;
				resp_got += (uint32_t)r;
			}
			if (resp_got == RESP_LEN || (r != NET_EAGAIN && r <= 0)) {
				tcp_close(cli, now);     /* like curl: done, or failed */
				cli_closed = true;
			}
		}
		use(1);
		if (!srv && tcp_accept(l, &srv) != 0)
			srv = NULL;
		if (srv && !srv_closed) {
			long r;
			while ((r = tcp_recv(srv, buf, sizeof(buf), now)) > 0) {
				for (long i = 0; i < r; i++)
					if (buf[i] != pattern(req_got + (uint32_t)i))
						bad = true;
				req_got += (uint32_t)r;
			}
			while (req_got == REQ_LEN && resp_put < RESP_LEN) {
				uint32_t n = RESP_LEN - resp_put < sizeof(buf) ? RESP_LEN - resp_put
									       : sizeof(buf);
				for (uint32_t i = 0; i < n; i++)
					buf[i] = pattern(resp_put + i + 1000);
				long w = tcp_send(srv, buf, n, now);
				if (w <= 0)
					break;
				resp_put += (uint32_t)w;
			}
			if (r != NET_EAGAIN && r <= 0) {
				tcp_close(srv, now);     /* the end, or an error */
				srv_closed = true;
			}
		}
		use(0);
		unsigned cli_conns = (unsigned)tcp_stats.conns_alive;
		use(1);
		unsigned srv_conns = (unsigned)tcp_stats.conns_alive;
		if (cli_closed && srv_closed && cli_conns == 0 && srv_conns == 1 && !qn) {
			end = now;
			break;
		}
		if (!two_stacks_round(batch, &now))
			break;
	}
	use(0);
	int cli_state = cli_closed ? -1 : tcp_state(cli);
	unsigned cli_conns = (unsigned)tcp_stats.conns_alive;
	use(1);
	int srv_state = !srv ? -2 : srv_closed ? -1 : tcp_state(srv);
	snprintf(why, whylen,
		 "request %u/%u, response %u/%u, client %s (%u conns), server %s (%u conns)%s",
		 req_got, REQ_LEN, resp_got, RESP_LEN,
		 cli_state == -1 ? "closed" : tcp_state_name(cli_state), cli_conns,
		 srv_state == -2 ? "not accepted" : srv_state == -1 ? "closed"
								: tcp_state_name(srv_state),
		 (unsigned)tcp_stats.conns_alive, bad ? ", WRONG BYTES" : "");
	if (bad || resp_got != RESP_LEN)
		end = NET_NEVER;
	use(0);
	if (!cli_closed)
		tcp_close(cli, now);
	tcp_free_all();
	use(1);
	if (srv && !srv_closed)
		tcp_close(srv, now);
	tcp_close(l, now);
	tcp_free_all();
	CHECK_EQ(mem_out, 0);
	cur = -1;
	return end;
}

static void test_loss_schedules(void)
{
	char why[256];
	const unsigned first = 16;           /* the whole exchange is about 15 frames */
	const uint64_t limit = 120 * SEC;
	unsigned runs = 0, bad = 0;
	uint64_t worst = 0, worst_d = 0, worst_h = 0;
	/* Every set of up to two dropped frames among the first ones (a == first
	 * or b == first: fewer), each with no frame or one other frame held. */
	for (unsigned a = 0; a <= first; a++)
		for (unsigned b = a + 1; b <= first + 1; b++)
			for (unsigned h = 0; h <= first; h++) {
				uint64_t d = (a < first ? 1ull << a : 0) | (b < first ? 1ull << b : 0);
				uint64_t hm = h < first ? 1ull << h : 0;
				if ((b > first && a < first) || (hm & d))
					continue;    /* b past the end only with a: the empty set once */
				runs++;
				uint64_t t = exchange(d, hm, limit, why, sizeof(why));
				if (t == NET_NEVER) {
					if (bad++ < 10)
						printf("    drop %#llx hold %#llx: not over in %llu s: %s\n",
						       (unsigned long long)d, (unsigned long long)hm,
						       (unsigned long long)(limit / SEC), why);
				} else if (t > worst) {
					worst = t;
					worst_d = d;
					worst_h = hm;
				}
			}
	CHECK_EQ(bad, 0);
	CHECK(runs > 2000);
	printf("    %u schedules, %u not over; the longest took %.1f s (drop %#llx hold %#llx)\n",
	       runs, bad, (double)worst / SEC, (unsigned long long)worst_d,
	       (unsigned long long)worst_h);
}

static void test_transfer(void)
{
	drop_pct = 5;
	rng = 12345;
	transfer_delack = 0;
	transfer();
}

/* The same with the kernel's delayed ACK on both sides. */
/* A link that takes 3 frames a round from each side and refuses the
 * rest: every byte arrives, and not one segment is retransmitted (a
 * refused segment waits for room, not for its timeout). */
static void test_link_full(void)
{
	drop_pct = 0;
	transfer_delack = 0;
	link_cap = 3;
	transfer();
	link_cap = 0;
}

static void test_transfer_delack(void)
{
	drop_pct = 5;
	rng = 12345;
	transfer_delack = 40 * MS;
	transfer();
	transfer_delack = 0;
}

/* A copy callback that refuses the piece at offset fail_at (or none). */
static size_t fail_at = ~(size_t)0;
static uint8_t cbuf[16384];
static int copy_out(void *arg, size_t off, void *p, size_t len)
{
	(void)arg;
	if (off <= fail_at && fail_at < off + len)
		return 1;
	memcpy(cbuf + off, p, len);
	return 0;
}

static int copy_in(void *arg, size_t off, void *p, size_t len)
{
	(void)arg;
	if (off <= fail_at && fail_at < off + len)
		return 1;
	memcpy(p, cbuf + off, len);
	return 0;
}

/* tcp_recv_copy / tcp_send_copy: the bytes through the caller's copy, in
 * pieces across the ring's wrap; a refused piece takes or sends nothing. */
static void test_copy_fns(void)
{
	start();
	struct tcp_conn *l, *c = passive(1000, &l);
	static uint8_t data[1000];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	/* 7 x 1000 bytes in and read, so the next 3000 wrap the 8 KiB ring. */
	for (int i = 0; i < 7; i++) {
		seg(F_ACK, them, us, data, 1000);
		them += 1000;
		CHECK_EQ(tcp_recv_copy(c, 1000, copy_out, NULL, now), 1000);
	}
	for (int i = 0; i < 3; i++) {
		seg(F_ACK, them, us, data, 1000);
		them += 1000;
	}
	fail_at = 1500;
	CHECK_EQ(tcp_recv_copy(c, 3000, copy_out, NULL, now), NET_EFAULT);
	fail_at = ~(size_t)0;
	memset(cbuf, 0, sizeof(cbuf));
	CHECK_EQ(tcp_recv_copy(c, 3000, copy_out, NULL, now), 3000);   /* nothing was lost */
	for (int i = 0; i < 3; i++)
		CHECK(memcmp(cbuf + 1000 * i, data, 1000) == 0);
	/* Sending: a refused piece queues nothing. */
	for (unsigned i = 0; i < 900; i++)
		cbuf[i] = (uint8_t)(i + 1);
	fake_clear();
	fail_at = 10;
	CHECK_EQ(tcp_send_copy(c, 900, copy_in, NULL, now), NET_EFAULT);
	CHECK_EQ(fake.n, 0);
	fail_at = ~(size_t)0;
	CHECK_EQ(tcp_send_copy(c, 900, copy_in, NULL, now), 900);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(last().seq, us);
	CHECK_EQ(last().len, 900);
	CHECK(memcmp(last().data, cbuf, 900) == 0);
	seg(F_ACK, them, us + 900, NULL, 0);
	tcp_close(c, now);
	tcp_close(l, now);
	finish();
}

/* A segment cut by the peer's window ends on a multiple of 8 of the
 * stream when that leaves something (the sliver of window after it goes
 * in a segment of its own). */
static void test_window_cut_aligned(void)
{
	start();
	struct tcp_conn *l, *c = passive(1000, &l);
	static uint8_t d[3000];
	seg_w(F_ACK, them, us, 507, NULL, 0);
	fake_clear();
	CHECK_EQ(tcp_send(c, d, sizeof(d), now), 3000);
	CHECK_EQ(fake.n, 2);
	CHECK_EQ(sent(0).len, 504);                     /* not 507 */
	CHECK_EQ(sent(1).seq, us + 504);
	CHECK_EQ(sent(1).len, 3);
	fake_clear();
	seg_w(F_ACK, them, us + 507, 8192, NULL, 0);
	CHECK_EQ(sent(0).seq, us + 507);                /* then full segments */
	CHECK_EQ(sent(0).len, 1000);
	seg(F_ACK, them, us + 3000, NULL, 0);
	tcp_close(c, now);
	tcp_close(l, now);
	finish();
}

/* Segments whose data crosses from one piece of the send ring to the
 * next at an odd offset still carry the right checksum and bytes. */
static void test_checksum_across_chunks(void)
{
	start();
	struct tcp_conn *l, *c = passive(1000, &l);
	static uint8_t d[4093], e[2000];
	for (unsigned i = 0; i < sizeof(e); i++)
		e[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ(tcp_send(c, d, sizeof(d), now), (long)sizeof(d));
	us += sizeof(d);
	seg(F_ACK, them, us, NULL, 0);
	fake_clear();
	CHECK_EQ(tcp_send(c, e, sizeof(e), now), (long)sizeof(e));   /* from ring offset 4093 */
	CHECK_EQ(fake.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		CHECK(sent(i).ok);
		CHECK_EQ(sent(i).len, 1000);
		CHECK(memcmp(sent(i).data, e + 1000 * i, 1000) == 0);
	}
	CHECK_EQ(fake.bad, 0);
	seg(F_ACK, them, us + sizeof(e), NULL, 0);
	tcp_close(c, now);
	tcp_close(l, now);
	finish();
}

/* Received data is summed as it is copied into the ring: a segment split
 * by a chunk boundary at an odd offset still passes its checksum, and its
 * bytes arrive intact. */
static void test_rx_checksum_across_chunks(void)
{
	start();
	struct tcp_conn *l, *c = passive(1000, &l);
	static uint8_t d[1400], e[1000], b[4096];
	for (unsigned i = 0; i < sizeof(e); i++)
		e[i] = (uint8_t)(i * 7 + 1);
	static const unsigned first[] = { 1400, 1400, 1293 };   /* ring offset 4093 after */
	for (unsigned i = 0; i < 3; i++) {
		seg(F_ACK, them, us, d, first[i]);
		them += first[i];
		CHECK_EQ(tcp_recv(c, b, sizeof(b), now), (long)first[i]);
	}
	for (unsigned i = 0; i < 2; i++) {
		seg(F_ACK, them, us, e, sizeof(e));
		them += sizeof(e);
	}
	CHECK_EQ(tcp_stats.bad_checksum, 0);
	CHECK_EQ(tcp_recv(c, b, sizeof(b), now), 2 * (long)sizeof(e));
	CHECK(memcmp(b, e, sizeof(e)) == 0);
	CHECK(memcmp(b + sizeof(e), e, sizeof(e)) == 0);
	tcp_close(c, now);
	tcp_close(l, now);
	finish();
}

/* Delayed ACK: an in-order segment's ACK rides on our reply, comes with
 * the second segment or when the delay ends; out-of-order data, data
 * that fills a gap and a FIN are acknowledged at once. */
static void test_delayed_ack(void)
{
	start();
	struct tcp_conn *l, *c = passive(1000, &l);
	tcp_set_delayed_ack(40 * MS);
	char b[64];
	fake_clear();
	seg(F_ACK | F_PSH, them, us, "hello", 5);
	them += 5;
	CHECK_EQ(fake.n, 0);                            /* the ACK waits */
	CHECK(tcp_events(c) & TCP_EV_READABLE);
	CHECK_EQ(tcp_next_deadline(), now + 40 * MS);
	CHECK_EQ(tcp_recv(c, b, sizeof(b), now), 5);
	CHECK_EQ(fake.n, 0);                            /* no window update for 5 bytes */
	/* The reply carries it. */
	CHECK_EQ(tcp_send(c, "world", 5, now), 5);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(last().ack, them);
	CHECK_EQ(last().len, 5);
	us += 5;
	seg(F_ACK, them, us, NULL, 0);
	CHECK_EQ(tcp_next_deadline(), NET_NEVER);       /* nothing owed, nothing in flight */
	/* The second segment is acknowledged at once. */
	fake_clear();
	seg(F_ACK | F_PSH, them, us, "abcde", 5);
	CHECK_EQ(fake.n, 0);
	seg(F_ACK | F_PSH, them + 5, us, "fghij", 5);
	them += 10;
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(last().flags, F_ACK);
	CHECK_EQ(last().ack, them);
	CHECK_EQ(tcp_next_deadline(), NET_NEVER);
	/* Alone, it is acknowledged when the delay ends, not before. */
	fake_clear();
	seg(F_ACK | F_PSH, them, us, "klmno", 5);
	them += 5;
	uint64_t t0 = now;
	now += 39 * MS;
	net_timer(now);
	CHECK_EQ(fake.n, 0);
	tick();
	CHECK_EQ(now, t0 + 40 * MS);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(last().ack, them);
	/* Out of order: at once (a duplicate ACK); the gap filled: at once. */
	fake_clear();
	seg(F_ACK | F_PSH, them + 5, us, "uvwxy", 5);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(last().ack, them);
	seg(F_ACK | F_PSH, them, us, "pqrst", 5);
	them += 10;
	CHECK_EQ(fake.n, 2);
	CHECK_EQ(last().ack, them);
	/* A FIN: at once. */
	seg(F_ACK | F_FIN, them, us, NULL, 0);
	them++;
	CHECK_EQ(fake.n, 3);
	CHECK_EQ(last().ack, them);
	CHECK_EQ(tcp_recv(c, b, sizeof(b), now), 25);
	CHECK(memcmp(b, "abcdefghijklmnopqrstuvwxy", 25) == 0);
	CHECK_EQ(tcp_recv(c, b, sizeof(b), now), 0);
	tcp_close(c, now);
	tcp_close(l, now);
	finish();
}

int main(void)
{
	/* make tcp-loss: TCP_LOSS=pct,seeds runs only the transfer, at that
	 * loss rate, once per seed. */
	const char *loss = getenv("TCP_LOSS");
	if (loss) {
		unsigned pct = 0, seeds = 1;
		if (sscanf(loss, "%u,%u", &pct, &seeds) < 1 || pct > 50) {
			printf("TCP_LOSS=pct[,seeds], pct at most 50\n");
			return 2;
		}
		int passed = 0, failed = 0;
		setvbuf(stdout, NULL, _IOLBF, 0);
		for (unsigned seed = 1; seed <= seeds; seed++)
			for (int d = 0; d < 2; d++) {
				failed_checks = 0;
				drop_pct = pct;
				rng = seed;
				transfer_delack = d ? 40 * MS : 0;
				transfer();
				printf("tcp_test lossy_1mib %u%% seed %u%s: %s\n", pct, seed,
				       d ? " delayed ACK" : "", failed_checks ? "FAILED" : "OK");
				if (failed_checks)
					failed++;
				else
					passed++;
			}
		printf("%d passed, %d failed\n", passed, failed);
		return failed != 0;
	}
	static const struct check_test tests[] = {
		{ test_passive_data, "passive_open_data" },
		{ test_reset_no_socket, "reset_no_socket" },
		{ test_active_open, "active_open" },
		{ test_simultaneous_open, "simultaneous_open" },
		{ test_active_close, "active_close_time_wait" },
		{ test_time_wait_reopen, "time_wait_reopen" },
		{ test_passive_close, "passive_close" },
		{ test_simultaneous_close, "simultaneous_close" },
		{ test_rst_syn_every_state, "rst_syn_every_state" },
		{ test_wraparound, "wraparound" },
		{ test_retransmission, "retransmission_karn" },
		{ test_go_back, "go_back_after_timeout" },
		{ test_fast_retransmit, "fast_retransmit" },
		{ test_out_of_order, "out_of_order" },
		{ test_windows, "windows_probes" },
		{ test_zero_window_fin, "zero_window_fin" },
		{ test_backlog, "backlog" },
		{ test_orphan_timeout, "orphan_timeout" },
		{ test_thousand, "thousand_connections" },
		{ test_delayed_ack, "delayed_ack" },
		{ test_copy_fns, "copy_callbacks" },
		{ test_window_cut_aligned, "window_cut_aligned" },
		{ test_checksum_across_chunks, "checksum_across_chunks" },
		{ test_rx_checksum_across_chunks, "rx_checksum_across_chunks" },
		{ test_transfer, "lossy_1mib" },
		{ test_transfer_delack, "lossy_1mib_delayed_ack" },
		{ test_link_full, "link_full_1mib" },
		{ test_loss_schedules, "loss_schedules" },
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	return check_run("tcp_test", tests, sizeof(tests) / sizeof(tests[0])) != 0;
}
