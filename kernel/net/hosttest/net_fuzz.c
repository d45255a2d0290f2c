/* libFuzzer target: sequences of frames (raw, or with sums fixed so deeper layers are reached) and clock steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/hosttest/fakelink.h"
#include "kernel/net/net_impl.h"

/*
 * The input is a list of records, each starting with an opcode byte:
 *   0  clock step: next byte * 50 ms, then net_timer
 *   1  raw frame: 2-byte length, then that many bytes (as many as remain)
 *   2  IPv4 packet from the gateway or a peer: header fields from the
 *      input, the header checksum made right, Ethernet header to us;
 *      then maybe one header byte overwritten, the sum maybe fixed again
 *   3  UDP datagram with a right checksum (to port 7 or another)
 *   4  ICMP message with a right checksum
 *   5  ARP packet from the input, to us
 *   6  the guest sends a UDP datagram or a ping
 *   7  TCP segment from the peer with a right checksum, to the listener
 *      (port 80, from one of four peer ports) or to the established
 *      connection (4000 <- 5000); flags, window and options from the
 *      input, seq/ack either raw or a step from the last segment the
 *      stack sent to that peer port (seq in units of 64, ack of 1 or 64)
 *   8  the application: send, receive, shut down, close, accept, connect
 * TCP starts with a listener on port 80 and a connection from port 4000
 * to the peer's 5000, established by a scripted handshake.
 * Whatever arrives, every frame the stack sends must be well formed
 * (fake_send checks) and the stack must not crash (ASan, UBSan).
 */

static void echo(void *arg, uint32_t src, uint16_t sport, uint16_t dport, const void *data,
		 size_t len)
{
	(void)arg;
	net_udp_send(dport, src, sport, data, len, 0);
}

/* Each frame goes in through a heap copy of exactly its length, so ASan
 * sees any read past its end. */
static void input(const uint8_t *frame, size_t n, uint64_t now)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, frame, n);
	net_input(copy, n, now);
	free(copy);
}

/* Echo replies for identifier 1 trigger the next request (reentrancy). */
static void pong(void *arg, uint32_t src, uint16_t id, uint16_t seq, const void *data, size_t len)
{
	(void)arg;
	net_ping_send(src, id, (uint16_t)(seq + 1), data, len, 0);
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static size_t take_buf(struct in *in, uint8_t *out, size_t want)
{
	if (want > in->n)
		want = in->n;
	memcpy(out, in->p, want);
	in->p += want;
	in->n -= want;
	return want;
}

static uint32_t pick_ip(uint8_t b)
{
	static const uint32_t ips[] = { IP_GW, IP_PEER, IP_FAR, IP_US,
					NET_IP(10, 0, 2, 255), 0xffffffffu, 0,
					NET_IP(224, 0, 0, 1) };
	return ips[b % 8];
}

/* ---- TCP ------------------------------------------------------------------*/

static long tcp_mem_out;
static void *f_alloc(void *arg, size_t size)
{
	(void)arg;
	tcp_mem_out += (long)size;
	return calloc(1, size);
}
static void f_free(void *arg, void *p, size_t size)
{
	(void)arg;
	if (p)
		tcp_mem_out -= (long)size;
	free(p);
}

#define PEER_PORTS 5
static const uint16_t peer_ports[PEER_PORTS] = { 5000, 6000, 6001, 6002, 6003 };
/* The last segment the stack sent to each peer port (seq + len, ack). */
static uint32_t peer_next[PEER_PORTS], peer_ack[PEER_PORTS];
#define HELD 8
static struct tcp_conn *listener, *held[HELD];   /* connections the "application" holds */

/* Note what the stack sent, so later segments can hit its window. */
static void watch_sent(void)
{
	for (unsigned i = 0; i < fake.n && i < FAKE_FRAMES; i++) {
		const uint8_t *f = fake.frame[i], *h = f + NET_ETH_HDR, *t = h + NET_IP_HDR;
		if (fake.len[i] < NET_ETH_HDR + NET_IP_HDR + 20 || get16(f + 12) != ETH_TYPE_IPV4 ||
		    h[9] != IP_PROTO_TCP)
			continue;
		size_t tl = get16(h + 2) - NET_IP_HDR, hl = (size_t)(t[12] >> 4) * 4;
		if (net_csum_fold(net_csum_add(tcp_pseudo_sum(IP_US, get32(h + 16), tl), t, tl)) !=
		    0xffff) {
			fprintf(stderr, "net_fuzz: a TCP segment with a bad checksum\n");
			abort();
		}
		for (unsigned k = 0; k < PEER_PORTS; k++)
			if (get16(t + 2) == peer_ports[k]) {
				peer_next[k] = get32(t + 4) + (uint32_t)(tl - hl) + ((t[13] & 3) ? 1 : 0);
				peer_ack[k] = get32(t + 8);
			}
	}
}

static size_t tcp_seg(uint8_t *frame, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
		      uint32_t ack, uint16_t wnd, const uint8_t *opt, size_t optlen,
		      const uint8_t *data, size_t len)
{
	static uint8_t t[NET_ETH_MTU - NET_IP_HDR];   /* the most one frame carries */
	optlen &= ~(size_t)3;
	if (optlen > 40)
		optlen = 40;
	if (20 + optlen + len > sizeof(t))
		len = sizeof(t) - 20 - optlen;
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)((20 + optlen) / 4 << 4);
	t[13] = flags;
	put16(t + 14, wnd);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (optlen)
		memcpy(t + 20, opt, optlen);
	if (len)
		memcpy(t + 20 + optlen, data, len);
	size_t n = 20 + optlen + len;
	put16(t + 16, (uint16_t)~net_csum_fold(net_csum_add(tcp_pseudo_sum(IP_PEER, IP_US, n), t, n)));
	return fake_ip(frame, mac_peer, IP_PEER, IP_US, IP_PROTO_TCP, t, n);
}

/* delack: the stack's delayed ACK (the kernel runs with one), from the
 * input's length so that both settings are explored. */
static void tcp_start(uint8_t *frame, uint64_t delack)
{
	static const uint8_t zero[6];
	static const struct tcp_mem mem = { f_alloc, f_free, NULL, NULL };
	tcp_init(&mem);
	tcp_set_delayed_ack(delack);
	memset(held, 0, sizeof(held));
	memset(peer_next, 0, sizeof(peer_next));
	memset(peer_ack, 0, sizeof(peer_ack));
	net_input(frame, fake_arp(frame, 2, mac_peer, IP_PEER, zero, IP_US, mac_us), 0);
	tcp_listen(80, 3, &listener);
	fake.n = 0;
	if (tcp_connect(4000, IP_PEER, 5000, 0, &held[0]) == 0) {
		watch_sent();
		static const uint8_t mss[4] = { 2, 4, 0x02, 0x00 };
		input(frame, tcp_seg(frame, 5000, 4000, 0x12, 1000, peer_next[0], 8192, mss, 4,
				     NULL, 0), 0);
		watch_sent();
	}
	fake.n = 0;
}

static void tcp_finish(void)
{
	for (unsigned i = 0; i < HELD; i++)
		if (held[i])
			tcp_close(held[i], 0);
	if (listener)
		tcp_close(listener, 0);
	listener = NULL;
	tcp_free_all();
	if (tcp_stats.conns_alive != 0 || tcp_mem_out != 0) {
		fprintf(stderr, "net_fuzz: TCP leaked (%llu connections, %ld bytes)\n",
			(unsigned long long)tcp_stats.conns_alive, tcp_mem_out);
		abort();
	}
}

static void tcp_app(struct in *in, uint64_t now)
{
	static uint8_t b[255 * 12];      /* the most one record asks for */
	uint8_t op = take(in);
	unsigned i = (op >> 3) % HELD;
	struct tcp_conn *c = held[i];
	switch (op % 8) {
	case 0:
		if (c) {
			size_t n = take_buf(in, b, take(in) * 12u);
			long r = tcp_send(c, b, n, now);
			if (r > (long)n)
				abort();
		}
		break;
	case 1:
		if (c) {
			size_t want = take(in) * 12u;
			long r = tcp_recv(c, b, want, now);
			if (r > (long)want)
				abort();
		}
		break;
	case 2:
		if (c)
			tcp_shutdown(c, now);
		break;
	case 3:
		if (c) {
			tcp_close(c, now);
			held[i] = NULL;
		}
		break;
	case 4:
		if (!c && listener)
			tcp_accept(listener, &held[i]);
		break;
	case 5:
		if (!c)
			if (tcp_connect(take(in) & 1 ? 4001 : 0, IP_PEER, 5000, now, &held[i]) != 0)
				held[i] = NULL;
		break;
	case 6:
		if (c) {
			unsigned ev = tcp_events(c);
			int e = tcp_error(c);
			if (e && !(ev & TCP_EV_ERROR))
				abort();
			(void)tcp_state_name(tcp_state(c));
		}
		break;
	default:
		if (listener && take(in) & 1) {
			tcp_close(listener, now);
			listener = NULL;
		}
		break;
	}
}

static void tcp_segment(struct in *in, uint8_t *frame, uint64_t now)
{
	static uint8_t pl[NET_ETH_MTU], opt[40];
	uint8_t b = take(in), flags = take(in);
	unsigned k = b & 1 ? 0 : 1 + ((b >> 1) & 3);
	uint16_t sport = peer_ports[k], dport = k == 0 ? 4000 : 80;
	if (b & 0x40)
		dport = 4001;
	uint32_t seq, ack;
	if (b & 0x80) {
		seq = (uint32_t)take(in) << 24 | (uint32_t)take(in) << 16 |
		      (uint32_t)take(in) << 8 | take(in);
		ack = (uint32_t)take(in) << 24 | (uint32_t)take(in) << 16 |
		      (uint32_t)take(in) << 8 | take(in);
	} else {
		/* Near what the stack expects: a signed step of each. */
		seq = peer_ack[k] + (uint32_t)(int32_t)(int8_t)take(in) * 64u;
		ack = peer_next[k] + (uint32_t)(int32_t)(int8_t)take(in) * ((b & 8) ? 64u : 1u);
	}
	uint16_t wnd = (uint16_t)(take(in) << 8 | take(in));
	size_t optlen = (b & 0x20) ? take_buf(in, opt, take(in) % 41) : 0;
	size_t want = (size_t)take(in) * 8;
	size_t len = (b & 0x10) ? take_buf(in, pl, want < sizeof(pl) ? want : sizeof(pl)) : 0;
	input(frame, tcp_seg(frame, sport, dport, flags, seq, ack, wnd, opt, optlen, pl, len), now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[FAKE_FRAME_MAX], pl[NET_ETH_MTU];
	struct in in = { data, size };
	uint64_t now = 0;

	fake_start();
	fake.offer = size & 2;      /* half the inputs build in a buffer the link offers */
	net_udp_bind(7, echo, NULL);
	net_echo_bind(1, pong, NULL);
	tcp_start(frame, size % 2 ? 40000000ull : 0);
	while (in.n) {
		uint8_t op = take(&in) % 9;
		size_t n, len;
		uint8_t b;
		switch (op) {
		case 0:
			now += (uint64_t)take(&in) * 50000000ull;
			net_timer(now);
			break;
		case 1:
			len = (size_t)take(&in) << 8;
			len |= take(&in);
			len %= FAKE_FRAME_MAX + 1;
			n = take_buf(&in, frame, len);
			input(frame, n, now);
			break;
		case 2:
			b = take(&in);
			len = take_buf(&in, pl, take(&in));
			n = fake_ip(frame, b & 1 ? mac_gw : mac_peer, pick_ip(b >> 1),
				    pick_ip(b >> 4), take(&in), pl, len);
			/* Let the input overwrite header fields after the sum
			 * (flags, fragment offset, lengths), sometimes. */
			if (b & 0x80) {
				uint8_t at = take(&in) % NET_IP_HDR;
				frame[NET_ETH_HDR + at] = take(&in);
				/* ... and make the sum right again, sometimes,
				 * so the damage passes the checksum. */
				if (take(&in) & 1) {
					uint8_t *h = frame + NET_ETH_HDR;
					size_t hl = (size_t)(h[0] & 0xf) * 4;
					if (hl > n - NET_ETH_HDR)
						hl = n - NET_ETH_HDR;
					put16(h + 10, 0);
					put16(h + 10, (uint16_t)~net_csum_fold(net_csum_add(0, h, hl)));
				}
			}
			input(frame, n, now);
			break;
		case 3:
			b = take(&in);
			len = take_buf(&in, pl, take(&in));
			n = fake_udp(frame, mac_peer, b & 1 ? IP_PEER : IP_FAR, 5000,
				     b & 2 ? 7 : take(&in), pl, len, b & 4);
			input(frame, n, now);
			break;
		case 4:
			b = take(&in);
			len = take_buf(&in, pl, take(&in));
			n = fake_ping(frame, mac_gw, IP_GW, b, take(&in), take(&in), pl, len);
			input(frame, n, now);
			break;
		case 5: {
			uint8_t a[28];
			memset(a, 0, sizeof(a));
			take_buf(&in, a, sizeof(a));
			memcpy(frame, mac_us, 6);
			memcpy(frame + 6, mac_peer, 6);
			put16(frame + 12, ETH_TYPE_ARP);
			memcpy(frame + NET_ETH_HDR, a, sizeof(a));
			memset(frame + NET_ETH_HDR + 28, 0, 18);
			input(frame, 60, now);
			break;
		}
		case 6:
			b = take(&in);
			len = take_buf(&in, pl, take(&in));
			if (b & 1)
				net_ping_send(pick_ip(b >> 1), 1, 2, pl, len, now);
			else
				net_udp_send(1234, pick_ip(b >> 1), 9, pl, len, now);
			break;
		case 7:
			tcp_segment(&in, frame, now);
			break;
		case 8:
			tcp_app(&in, now);
			break;
		}
		watch_sent();
		if (fake.bad) {
			fprintf(stderr, "net_fuzz: the stack sent a malformed frame\n");
			abort();
		}
		fake.n = 0;
	}
	tcp_finish();
	return 0;
}
