/* Ethernet: the stack's entry point, frame checks, dispatch by EtherType, frame output. */
#include "kernel/net/net_impl.h"

struct net_state net;
struct net_stats net_stats;
const uint8_t eth_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void net_init(const struct net_config *cfg, const struct net_link *link)
{
	memset(&net, 0, sizeof(net));
	memset(&net_stats, 0, sizeof(net_stats));
	net.cfg = *cfg;
	net.link = *link;
	net.ip_id = 1;
}

/* A sum with end-around carries, folded to 16 bits (0 only if it was 0). */
static uint32_t csum_fold64(uint64_t a)
{
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffff) + (a >> 16);
	a = (a & 0xffff) + (a >> 16);
	a = (a & 0xffff) + (a >> 16);
	return (uint32_t)a;
}

static uint32_t csum_swap(uint32_t x)
{
	return (x & 0xff) << 8 | x >> 8;
}

typedef uint64_t __attribute__((may_alias)) csum_word;
typedef uint32_t __attribute__((may_alias)) csum_half;
typedef uint16_t __attribute__((may_alias)) csum_pair;

/*
 * The sum of the buffer's big-endian 16-bit words (RFC 1071), computed
 * eight bytes per load: the ones' complement sum does not depend on byte
 * order except for a swap at the end, so aligned native (little-endian)
 * words are added with end-around carry — four a round — then the 4-,
 * 2- and 1-byte rest after the last whole word (still aligned, so still
 * pairs in their lanes), and the bytes before the first aligned word one
 * at a time, with the pairing fixed up (an odd number of leading bytes
 * pairs the words the other way round).  No load reaches past the
 * buffer.
 */
uint32_t net_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t le = 0; /* little-endian pairs from p[0]: p[0] the low byte */
	size_t i = 0, k = (size_t)(-(uintptr_t)p & 7);
	if (len >= k + 16) {
		for (; i < k; i++)
			le += (uint64_t)p[i] << (8 * (i & 1));
		const csum_word *w = (const csum_word *)(const void *)(p + k);
		size_t n = len - k;
		uint64_t acc = 0, v;
		for (; n >= 32; n -= 32, w += 4) {
			v = w[0], acc += v, acc += acc < v;
			v = w[1], acc += v, acc += acc < v;
			v = w[2], acc += v, acc += acc < v;
			v = w[3], acc += v, acc += acc < v;
		}
		for (; n >= 8; n -= 8, w++)
			v = w[0], acc += v, acc += acc < v;
		const uint8_t *t = (const uint8_t *)w;
		if (n >= 4) {
			v = *(const csum_half *)(const void *)t, acc += v, acc += acc < v;
			t += 4, n -= 4;
		}
		if (n >= 2) {
			v = *(const csum_pair *)(const void *)t, acc += v, acc += acc < v;
			t += 2, n -= 2;
		}
		if (n)
			v = *t, acc += v, acc += acc < v;
		uint32_t r = csum_fold64(acc);
		le += (k & 1) ? csum_swap(r) : r;
		i = len;
	}
	for (; i < len; i++)
		le += (uint64_t)p[i] << (8 * (i & 1));
	sum += csum_swap(csum_fold64(le));
	/* Fold as we go so a long buffer cannot overflow 32 bits. */
	return (sum & 0xffff) + (sum >> 16);
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

void net_input(const void *frame, size_t len, uint64_t now_ns)
{
	const uint8_t *p = frame;
	net_stats.rx_frames++;
	if (len < NET_ETH_HDR || len > NET_ETH_HDR + NET_ETH_MTU) {
		net_stats.eth_short++;
		return;
	}
	/* For us, or broadcast; multicast is not joined. */
	if (memcmp(p, net.cfg.mac, 6) != 0 && memcmp(p, eth_broadcast, 6) != 0) {
		net_stats.eth_not_ours++;
		return;
	}
	switch (get16(p + 12)) {
	case ETH_TYPE_ARP:
		arp_input(p + NET_ETH_HDR, len - NET_ETH_HDR, now_ns);
		break;
	case ETH_TYPE_IPV4:
		ip_input(p + NET_ETH_HDR, len - NET_ETH_HDR, now_ns);
		break;
	default:
		net_stats.eth_unknown_type++;
		break;
	}
}

int eth_send(const uint8_t dst[6], uint16_t type, size_t payload_len)
{
	memcpy(net.tx, dst, 6);
	memcpy(net.tx + 6, net.cfg.mac, 6);
	put16(net.tx + 12, type);
	size_t len = NET_ETH_HDR + payload_len;
	/* The minimum Ethernet payload is 46 bytes; pad with zeros. */
	if (len < 60) {
		memset(net.tx + len, 0, 60 - len);
		len = 60;
	}
	net_stats.tx_frames++;
	int r = net.link.send(net.link.arg, net.tx, len);
	if (r != 0) {
		net_stats.tx_link_drops++;
		return r == NET_EAGAIN ? NET_EAGAIN : NET_EIO;
	}
	return 0;
}

uint64_t net_timer(uint64_t now_ns)
{
	uint64_t a = arp_timer(now_ns), t = tcp_timer(now_ns);
	return a < t ? a : t;
}

uint64_t net_next_deadline(void)
{
	uint64_t a = arp_next_deadline(), t = tcp_next_deadline();
	return a < t ? a : t;
}

uint64_t net_deadline_bound(void)
{
	uint64_t a = arp_deadline_bound(), t = tcp_deadline_bound();
	return a < t ? a : t;
}
