/* Host tests of the network stack against a fake link: ARP, IPv4, ICMP echo, UDP, the checks on bad frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/hosttest/check.h"
#include "kernel/net/hosttest/fakelink.h"
#include "kernel/net/net_impl.h"

#define SEC 1000000000ull

static uint8_t buf[FAKE_FRAME_MAX + 64];

/* Teach the stack the gateway's and the peer's addresses (an ARP request
 * from each, for us), then forget the replies it sent. */
static void learn_neighbours(uint64_t now)
{
	static const uint8_t zero[6];
	net_input(buf, fake_arp(buf, 1, mac_gw, IP_GW, zero, IP_US, eth_broadcast), now);
	net_input(buf, fake_arp(buf, 1, mac_peer, IP_PEER, zero, IP_US, eth_broadcast), now);
	fake_clear();
}

static void test_arp_reply(void)
{
	static const uint8_t zero[6];
	fake_start();
	net_input(buf, fake_arp(buf, 1, mac_gw, IP_GW, zero, IP_US, eth_broadcast), 0);
	CHECK_EQ(fake.n, 1);
	const uint8_t *f = fake.frame[0], *a = f + NET_ETH_HDR;
	CHECK(memcmp(f, mac_gw, 6) == 0);
	CHECK_EQ(get16(f + 12), ETH_TYPE_ARP);
	CHECK_EQ(get16(a + 6), 2);
	CHECK(memcmp(a + 8, mac_us, 6) == 0);
	CHECK_EQ(get32(a + 14), IP_US);
	CHECK(memcmp(a + 18, mac_gw, 6) == 0);
	CHECK_EQ(get32(a + 24), IP_GW);
	uint8_t m[6];
	CHECK(net_arp_lookup(IP_GW, m) && memcmp(m, mac_gw, 6) == 0);
	CHECK_EQ(fake.bad, 0);

	/* A request for someone else: no reply, nothing learnt. */
	fake_clear();
	net_input(buf, fake_arp(buf, 1, mac_peer, IP_PEER, zero, NET_IP(10, 0, 2, 99),
				eth_broadcast), 0);
	CHECK_EQ(fake.n, 0);
	CHECK(!net_arp_lookup(IP_PEER, m));

	/* Hostile senders: our own address, broadcast, a group MAC, off-link. */
	static const uint8_t group[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	uint64_t bad = net_stats.arp_bad;
	net_input(buf, fake_arp(buf, 1, mac_peer, IP_US, zero, IP_US, eth_broadcast), 0);
	net_input(buf, fake_arp(buf, 1, mac_peer, NET_IP(10, 0, 2, 255), zero, IP_US,
				eth_broadcast), 0);
	net_input(buf, fake_arp(buf, 1, group, IP_PEER, zero, IP_US, eth_broadcast), 0);
	net_input(buf, fake_arp(buf, 1, mac_peer, IP_FAR, zero, IP_US, eth_broadcast), 0);
	CHECK_EQ(net_stats.arp_bad - bad, 4);
	CHECK_EQ(fake.n, 0);
	/* Truncated, wrong hardware type. */
	size_t n = fake_arp(buf, 1, mac_peer, IP_PEER, zero, IP_US, eth_broadcast);
	net_input(buf, NET_ETH_HDR + 27, 0);
	buf[NET_ETH_HDR + 1] = 6;
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.arp_bad - bad, 6);
	CHECK_EQ(fake.n, 0);
}

static unsigned echo_got;
static uint16_t echo_seq;
static void on_echo(void *arg, uint32_t src, uint16_t id, uint16_t seq, const void *data,
		    size_t len)
{
	(void)arg;
	(void)data;
	if (src == IP_GW && id == 77 && len == 5)
		echo_got++;
	echo_seq = seq;
}

static unsigned bound_got;
static void on_echo_bound(void *arg, uint32_t src, uint16_t id, uint16_t seq, const void *data,
			  size_t len)
{
	(void)arg;
	(void)src;
	(void)data;
	(void)len;
	if (id == 77 && seq == 10)
		bound_got++;
}

static void test_ping(void)
{
	fake_start();
	learn_neighbours(0);
	/* The guest answers a ping: same id, seq and data, type 0, valid sums. */
	net_input(buf, fake_ping(buf, mac_peer, IP_PEER, 8, 0xbeef, 3, "hello", 5), 0);
	CHECK_EQ(fake.n, 1);
	const uint8_t *h = fake.frame[0] + NET_ETH_HDR, *m = h + NET_IP_HDR;
	CHECK(memcmp(fake.frame[0], mac_peer, 6) == 0);
	CHECK_EQ(get32(h + 16), IP_PEER);
	CHECK_EQ(h[9], IP_PROTO_ICMP);
	CHECK_EQ(get16(h + 2), NET_IP_HDR + 8 + 5);
	CHECK_EQ(m[0], 0);
	CHECK_EQ(get16(m + 4), 0xbeef);
	CHECK_EQ(get16(m + 6), 3);
	CHECK(memcmp(m + 8, "hello", 5) == 0);
	CHECK_EQ(net_csum_fold(net_csum_add(0, m, 13)), 0xffff);
	CHECK_EQ(net_stats.icmp_echo_replied, 1);
	CHECK_EQ(fake.bad, 0);

	/* A bad ICMP checksum: no answer. */
	fake_clear();
	size_t n = fake_ping(buf, mac_peer, IP_PEER, 8, 1, 1, "x", 1);
	buf[n - 1] ^= 1;
	net_input(buf, n, 0);
	CHECK_EQ(fake.n, 0);
	CHECK_EQ(net_stats.icmp_bad, 1);

	/* The guest pings: the request goes to the gateway; the reply is
	 * delivered to the handler. */
	net_set_echo_handler(on_echo, NULL);
	CHECK_EQ(net_ping_send(IP_GW, 77, 9, "abcde", 5, 0), 0);
	CHECK_EQ(fake.n, 1);
	m = fake.frame[0] + NET_ETH_HDR + NET_IP_HDR;
	CHECK_EQ(m[0], 8);
	CHECK_EQ(net_csum_fold(net_csum_add(0, m, 13)), 0xffff);
	net_input(buf, fake_ping(buf, mac_gw, IP_GW, 0, 77, 9, "abcde", 5), 0);
	CHECK_EQ(echo_got, 1);
	CHECK_EQ(echo_seq, 9);

	/* A bound identifier takes its replies from the default handler. */
	CHECK_EQ(net_echo_bind(77, on_echo_bound, NULL), 0);
	CHECK_EQ(net_echo_bind(77, on_echo_bound, NULL), NET_EADDRINUSE);
	CHECK_EQ(net_echo_bind(0, on_echo_bound, NULL), NET_EINVAL);
	net_input(buf, fake_ping(buf, mac_gw, IP_GW, 0, 77, 10, "abcde", 5), 0);
	CHECK_EQ(echo_got, 1);
	CHECK_EQ(bound_got, 1);
	/* A reply with identifier 0 (never bound) goes to the default
	 * handler, not to a free entry of the table. */
	net_input(buf, fake_ping(buf, mac_gw, IP_GW, 0, 0, 12, "abcde", 5), 0);
	CHECK_EQ(echo_seq, 12);
	net_echo_unbind(77);
	net_input(buf, fake_ping(buf, mac_gw, IP_GW, 0, 77, 11, "abcde", 5), 0);
	CHECK_EQ(echo_got, 2);
	CHECK_EQ(bound_got, 1);
}

/* An answer to an unknown neighbour waits for ARP; the packet is held. */
static void test_arp_resolution(void)
{
	fake_start();
	net_input(buf, fake_ping(buf, mac_peer, IP_PEER, 8, 1, 2, "hi", 2), 100);
	CHECK_EQ(fake.n, 1);
	const uint8_t *f = fake.frame[0], *a = f + NET_ETH_HDR;
	CHECK(memcmp(f, eth_broadcast, 6) == 0);
	CHECK_EQ(get16(f + 12), ETH_TYPE_ARP);
	CHECK_EQ(get16(a + 6), 1);
	CHECK_EQ(get32(a + 24), IP_PEER);
	CHECK_EQ(net_next_deadline(), 100 + NET_ARP_RETRY_NS);

	/* The reply releases the held echo reply to the right MAC. */
	net_input(buf, fake_arp(buf, 2, mac_peer, IP_PEER, mac_us, IP_US, mac_us), 200);
	CHECK_EQ(fake.n, 2);
	CHECK(memcmp(fake.frame[1], mac_peer, 6) == 0);
	CHECK_EQ(get16(fake.frame[1] + 12), ETH_TYPE_IPV4);
	CHECK_EQ(fake.frame[1][NET_ETH_HDR + NET_IP_HDR], 0);
	CHECK_EQ(net_next_deadline(), 200 + NET_ARP_REACHABLE_NS);

	/* After REACHABLE expires the next packet asks again. */
	fake_clear();
	CHECK_EQ(net_timer(200 + NET_ARP_REACHABLE_NS), NET_NEVER);
	uint8_t m[6];
	CHECK(!net_arp_lookup(IP_PEER, m));
	CHECK_EQ(net_udp_send(1000, IP_PEER, 9, "z", 1, 300 * SEC), 0);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(get16(fake.frame[0] + 12), ETH_TYPE_ARP);
}

/* A link that offers a buffer (link.frame): every frame the stack sends is
 * built there, the held packet ARP releases included, and arrives intact. */
static void test_offered_frame(void)
{
	fake_start();
	fake.offer = true;
	CHECK_EQ(net_udp_send(1000, IP_PEER, 9, "offer", 5, 100), 0);   /* held: ARP asks */
	net_input(buf, fake_arp(buf, 2, mac_peer, IP_PEER, mac_us, IP_US, mac_us), 200);
	net_input(buf, fake_ping(buf, mac_peer, IP_PEER, 8, 1, 2, "hi", 2), 300);
	CHECK_EQ(fake.n, 3);                              /* request, the datagram, the reply */
	CHECK_EQ(fake.offered, 3);
	CHECK_EQ(fake.bad, 0);
	const uint8_t *u = fake.frame[1] + NET_ETH_HDR + NET_IP_HDR;
	CHECK_EQ(get16(fake.frame[1] + 12), ETH_TYPE_IPV4);
	CHECK(memcmp(u + NET_UDP_HDR, "offer", 5) == 0);
	CHECK(memcmp(fake.frame[2] + NET_ETH_HDR + NET_IP_HDR + 8, "hi", 2) == 0);
	/* Without an offer the stack builds in its own buffer. */
	fake.offer = false;
	CHECK_EQ(net_udp_send(1000, IP_PEER, 9, "own", 3, 400), 0);
	CHECK_EQ(fake.n, 4);
	CHECK_EQ(fake.offered, 3);
}

/* An unanswered request: NET_ARP_TRIES requests a second apart, then the
 * held packet is dropped and counted. */
static void test_arp_timeout(void)
{
	fake_start();
	CHECK_EQ(net_udp_send(1000, IP_PEER, 9, "a", 1, 0), 0);
	CHECK_EQ(net_udp_send(1000, IP_PEER, 9, "b", 1, 0), 0); /* replaces "a" */
	CHECK_EQ(net_stats.arp_pending_dropped, 1);
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(net_timer(SEC - 1), SEC);       /* not yet */
	CHECK_EQ(fake.n, 1);
	CHECK_EQ(net_timer(SEC), 2 * SEC);       /* second request */
	CHECK_EQ(net_timer(2 * SEC), 3 * SEC);   /* third */
	CHECK_EQ(fake.n, NET_ARP_TRIES);
	CHECK_EQ(net_timer(3 * SEC), NET_NEVER); /* given up */
	CHECK_EQ(fake.n, NET_ARP_TRIES);
	CHECK_EQ(net_stats.arp_timeouts, 1);
	CHECK_EQ(net_stats.arp_pending_dropped, 2);
	/* A late reply for a forgotten question is not learnt. */
	net_input(buf, fake_arp(buf, 2, mac_peer, IP_PEER, mac_us, IP_US, mac_us), 4 * SEC);
	CHECK_EQ(fake.n, NET_ARP_TRIES + 0); /* nothing was waiting */
}

/* A full cache evicts the entry whose deadline comes first. */
static void test_arp_full(void)
{
	static const uint8_t zero[6];
	fake_start();
	for (unsigned i = 0; i < NET_ARP_ENTRIES + 4; i++) {
		uint8_t mac[6] = { 0x52, 0x55, 0, 0, 0, (uint8_t)i };
		net_input(buf, fake_arp(buf, 1, mac, NET_IP(10, 0, 2, 100 + i), zero, IP_US,
					eth_broadcast), i);
	}
	CHECK_EQ(net_stats.arp_evictions, 4);
	uint8_t m[6];
	CHECK(!net_arp_lookup(NET_IP(10, 0, 2, 100), m));
	CHECK(net_arp_lookup(NET_IP(10, 0, 2, 100 + NET_ARP_ENTRIES + 3), m));
}

static unsigned udp_got;
static uint8_t udp_data[64];
static size_t udp_len;
static void on_udp(void *arg, uint32_t src, uint16_t sport, uint16_t dport, const void *data,
		   size_t len)
{
	(void)arg;
	if (src == IP_PEER && sport == 5555 && dport == 7 && len <= sizeof(udp_data)) {
		memcpy(udp_data, data, len);
		udp_len = len;
		udp_got++;
	}
}

static void test_udp(void)
{
	fake_start();
	learn_neighbours(0);
	CHECK_EQ(net_udp_bind(7, on_udp, NULL), 0);
	CHECK_EQ(net_udp_bind(7, on_udp, NULL), NET_EADDRINUSE);
	CHECK_EQ(net_udp_bind(0, on_udp, NULL), NET_EINVAL);

	net_input(buf, fake_udp(buf, mac_peer, IP_PEER, 5555, 7, "ping!", 5, true), 0);
	CHECK_EQ(udp_got, 1);
	CHECK_EQ(udp_len, 5);
	CHECK(memcmp(udp_data, "ping!", 5) == 0);
	/* No checksum is allowed; a wrong one is not. */
	net_input(buf, fake_udp(buf, mac_peer, IP_PEER, 5555, 7, "abc", 3, false), 0);
	CHECK_EQ(udp_got, 2);
	size_t n = fake_udp(buf, mac_peer, IP_PEER, 5555, 7, "abc", 3, true);
	buf[n - 1] ^= 0x40;
	net_input(buf, n, 0);
	CHECK_EQ(udp_got, 2);
	CHECK_EQ(net_stats.udp_bad_checksum, 1);
	/* UDP length beyond the packet, or below the header. */
	n = fake_udp(buf, mac_peer, IP_PEER, 5555, 7, "abc", 3, false);
	put16(buf + NET_ETH_HDR + NET_IP_HDR + 4, 12);
	net_input(buf, n, 0);
	put16(buf + NET_ETH_HDR + NET_IP_HDR + 4, 7);
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.udp_bad, 2);
	/* Nobody on the port. */
	net_input(buf, fake_udp(buf, mac_peer, IP_PEER, 5555, 8, "abc", 3, true), 0);
	CHECK_EQ(net_stats.udp_no_port, 1);
	CHECK_EQ(udp_got, 2);
	net_udp_unbind(7);
	net_input(buf, fake_udp(buf, mac_peer, IP_PEER, 5555, 7, "abc", 3, true), 0);
	CHECK_EQ(udp_got, 2);

	/* Output: on-link to the peer's MAC, off-link to the gateway's; the
	 * checksum verifies; too big is refused. */
	fake_clear();
	CHECK_EQ(net_udp_send(7, IP_PEER, 5555, "reply", 5, 0), 0);
	CHECK_EQ(net_udp_send(7, IP_FAR, 53, "far", 3, 0), 0);
	CHECK_EQ(fake.n, 2);
	CHECK(memcmp(fake.frame[0], mac_peer, 6) == 0);
	CHECK(memcmp(fake.frame[1], mac_gw, 6) == 0);
	const uint8_t *h = fake.frame[0] + NET_ETH_HDR, *u = h + NET_IP_HDR;
	CHECK_EQ(get16(u + 4), 13);
	CHECK_EQ(net_csum_fold(net_csum_add(udp_pseudo_sum(IP_US, IP_PEER, 13), u, 13)),
		 0xffff);
	CHECK(memcmp(u + 8, "reply", 5) == 0);
	CHECK_EQ(get32(fake.frame[1] + NET_ETH_HDR + 16), IP_FAR);
	static uint8_t big[NET_UDP_MAX + 1];
	CHECK_EQ(net_udp_send(7, IP_PEER, 5555, big, NET_UDP_MAX + 1, 0), NET_EMSGSIZE);
	CHECK_EQ(net_udp_send(7, IP_PEER, 5555, big, NET_UDP_MAX, 0), 0);
	CHECK_EQ(fake.len[2], NET_ETH_HDR + NET_ETH_MTU);
	CHECK_EQ(net_udp_send(7, NET_IP(127, 0, 0, 1), 5555, "x", 1, 0), NET_EHOSTUNREACH);
	CHECK_EQ(fake.bad, 0);
	/* A link with no room: the frame is dropped and counted. */
	fake.full = true;
	CHECK_EQ(net_udp_send(7, IP_PEER, 5555, "x", 1, 0), NET_EAGAIN);
	CHECK_EQ(net_stats.tx_link_drops, 1);
}

/* Every IPv4 check, one frame each; none reaches ICMP. */
/* The checksum against a byte-at-a-time RFC 1071 sum: every start
 * offset within a word, lengths around each path's edges (the header
 * path, the four-word rounds, the copy's eight-word rounds), bytes of
 * all ones to make every carry, and net_csum_copy's copy itself at
 * every source and destination alignment (co-aligned or shifted). */
static uint32_t csum_ref(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;
	for (size_t i = 0; i < len; i++)
		s += i & 1 ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static void test_checksum(void)
{
	static uint8_t src[4200], dst[4200];
	uint32_t x = 12345;
	for (int fill = 0; fill < 2; fill++) {
		for (size_t i = 0; i < sizeof(src); i++) {
			x = x * 1103515245u + 12345u;
			src[i] = fill ? 0xff : (uint8_t)(x >> 16);
		}
		static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 12, 19, 20, 24, 28, 31, 32,
					       33, 40, 56, 60, 61, 63, 64, 65, 66, 67, 71, 72, 79,
					       80, 95, 96, 97, 103, 127, 128,
					       129, 200, 1023, 1025, 1456, 1460, 1475, 4093,
					       4100 };
		for (unsigned so = 0; so < 8; so++)
			for (unsigned dof = 0; dof < 8; dof++)
				for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
					size_t n = lens[k];
					uint32_t want = csum_ref(0x1234, src + so, n);
					CHECK_EQ(net_csum_fold(net_csum_add(0x1234, src + so, n)), want);
					memset(dst, 0, sizeof(dst));
					CHECK_EQ(net_csum_fold(net_csum_copy(0x1234, dst + dof, src + so,
									     n)), want);
					CHECK(memcmp(dst + dof, src + so, n) == 0);
					/* Nothing written outside [dof, dof + n). */
					CHECK(dof == 0 || dst[dof - 1] == 0);
					CHECK_EQ(dst[dof + n], 0);
					/* Nothing read past the source's last byte
					 * (ASan: the heap block ends there). */
					uint8_t *tight = malloc(so + n ? so + n : 1);
					CHECK(tight != NULL);
					if (tight) {
						memcpy(tight, src, so + n);
						CHECK_EQ(net_csum_fold(net_csum_copy(
								 0x1234, dst + dof, tight + so, n)),
							 want);
						free(tight);
					}
				}
	}
}

static void test_ip_checks(void)
{
	fake_start();
	learn_neighbours(0);
	size_t n;
	const size_t ip = NET_ETH_HDR;
#define PING() (n = fake_ping(buf, mac_peer, IP_PEER, 8, 1, 1, "data", 4))
#define RESUM() (put16(buf + ip + 10, 0), \
		 put16(buf + ip + 10, (uint16_t)~net_csum_fold(net_csum_add(0, buf + ip, 20))))
	PING();
	buf[ip + 10] ^= 1;
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.ip_bad_checksum, 1);
	PING();
	buf[ip] = 0x65;                  /* IPv6 version */
	net_input(buf, n, 0);
	PING();
	buf[ip] = 0x44;                  /* IHL 4 */
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.ip_bad_header, 2);
	PING();
	put16(buf + ip + 2, 100);        /* total length past the frame */
	RESUM();
	net_input(buf, n, 0);
	PING();
	buf[ip] = 0x4f;                  /* IHL 15: 60 bytes, past the packet */
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.ip_bad_length, 2);
	PING();
	put16(buf + ip + 6, 0x2000);     /* more fragments */
	RESUM();
	net_input(buf, n, 0);
	PING();
	put16(buf + ip + 6, 0x0010);     /* a later fragment */
	RESUM();
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.ip_frag_dropped, 2);
	PING();
	put32(buf + ip + 16, IP_PEER);   /* not ours: no forwarding */
	RESUM();
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.ip_not_ours, 1);
	PING();
	put32(buf + ip + 12, 0xffffffff); /* broadcast source */
	RESUM();
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.ip_bad_src, 1);
	PING();
	buf[ip + 9] = 99;                /* a protocol we do not speak */
	RESUM();
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.ip_unknown_proto, 1);
	net_input(buf, 13, 0);           /* shorter than Ethernet */
	CHECK_EQ(net_stats.eth_short, 1);
	PING();
	buf[0] = 0x02;                   /* another host's MAC */
	net_input(buf, n, 0);
	CHECK_EQ(net_stats.eth_not_ours, 1);
	CHECK_EQ(net_stats.icmp_rx, 0);
	CHECK_EQ(fake.n, 0);

	/* Ethernet padding after the packet is fine; TTL 1 to us is fine
	 * (a host does not drop what is addressed to it). */
	n = fake_ping(buf, mac_peer, IP_PEER, 8, 1, 1, "", 0);
	buf[ip + 8] = 1;
	RESUM();
	memset(buf + n, 0xee, 60 - n);
	net_input(buf, 60, 0);
	CHECK_EQ(net_stats.icmp_echo_replied, 1);
	CHECK_EQ(get16(fake.frame[0] + ip + 2), 28);
#undef PING
#undef RESUM
}

int main(void)
{
	static const struct check_test tests[] = {
		{ test_arp_reply, "arp_reply" },
		{ test_ping, "ping" },
		{ test_arp_resolution, "arp_resolution" },
		{ test_offered_frame, "offered_frame" },
		{ test_arp_timeout, "arp_timeout" },
		{ test_arp_full, "arp_full" },
		{ test_udp, "udp" },
		{ test_ip_checks, "ip_checks" },
		{ test_checksum, "checksum" },
	};
	return check_run("net_test", tests, sizeof(tests) / sizeof(tests[0])) != 0;
}
