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
	net.tx = net.tx_own;
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

#define CSUM_ADD(acc, v) ((acc) += (v), (acc) += (acc) < (uint64_t)(v))

/*
 * The sum of the buffer's big-endian 16-bit words (RFC 1071).  The ones'
 * complement sum does not depend on byte order except for a swap at the
 * end, so native (little-endian) loads are added with end-around carry,
 * each at an address aligned to its size: the 1-, 2- and 4-byte head up
 * to an 8-byte boundary, whole words four a round, then the 4-, 2- and
 * 1-byte rest.  Every byte then sits in the lane its address's parity
 * gives it; a buffer starting at an odd address pairs its bytes the other
 * way round, which is the swap undone.  No load reaches past the buffer.
 */
uint32_t net_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	/* A header: whole 4-byte words on a 4-byte boundary, no more than
	 * 15 of them (IPv4's and TCP's largest): their native sum needs no
	 * carries kept. */
	if (!(((uintptr_t)p | len) & 3) && len <= 60) {
		uint64_t a = 0;
		for (const uint8_t *e = p + len; p < e; p += 4)
			a += *(const csum_half *)(const void *)p;
		a = (a & 0xffffffffu) + (a >> 32);      /* < 2^32 + 15 */
		a = (a & 0xffff) + (a >> 16);           /* < 2^17 */
		a = (a & 0xffff) + (a >> 16);           /* <= 2^16 */
		a = (a & 0xffff) + (a >> 16);           /* < 2^16 */
		sum += csum_swap((uint32_t)a);
		return (sum & 0xffff) + (sum >> 16);
	}
	bool odd = (uintptr_t)p & 1;
	uint64_t acc = 0, v;
	if (odd && len) {
		CSUM_ADD(acc, (uint64_t)*p << 8);
		p++, len--;
	}
	if (((uintptr_t)p & 2) && len >= 2) {
		v = *(const csum_pair *)(const void *)p, CSUM_ADD(acc, v);
		p += 2, len -= 2;
	}
	if (((uintptr_t)p & 4) && len >= 4) {
		v = *(const csum_half *)(const void *)p, CSUM_ADD(acc, v);
		p += 4, len -= 4;
	}
	if (!((uintptr_t)p & 7)) {
		const csum_word *w = (const csum_word *)(const void *)p;
		/* A 128-bit sum: the compiler keeps the carries in a second
		 * word (add-with-carry where the ISA has one). */
		unsigned __int128 wide = 0;
		for (; len >= 32; len -= 32, w += 4)
			wide += (unsigned __int128)w[0] + w[1] + w[2] + w[3];
		CSUM_ADD(acc, (uint64_t)wide);
		CSUM_ADD(acc, (uint64_t)(wide >> 64));
		for (; len >= 8; len -= 8, w++)
			v = w[0], CSUM_ADD(acc, v);
		p = (const uint8_t *)w;
	}
	/* Here p is aligned to the largest of 4, 2, 1 that len still allows. */
	if (len >= 4) {
		v = *(const csum_half *)(const void *)p, CSUM_ADD(acc, v);
		p += 4, len -= 4;
	}
	if (len >= 2) {
		v = *(const csum_pair *)(const void *)p, CSUM_ADD(acc, v);
		p += 2, len -= 2;
	}
	if (len)
		CSUM_ADD(acc, (uint64_t)*p);
	uint32_t r = csum_fold64(acc);
	sum += odd ? r : csum_swap(r);
	/* Fold as we go so a long buffer cannot overflow 32 bits. */
	return (sum & 0xffff) + (sum >> 16);
}

/* n <= 8 bytes copied, returned in the lanes 0.. of a word (the rest 0). */
static inline uint64_t csum_gather(uint8_t *d, const uint8_t *s, size_t n)
{
	uint64_t w = 0;
	for (size_t i = n; i-- > 0;) {
		uint8_t b = s[i];
		d[i] = b;
		w = w << 8 | b;
	}
	return w;
}

/*
 * One pass: every byte is copied and summed as part of the destination's
 * aligned 8-byte word it lands in, the sum taken as from the word below
 * d (even, like any aligned address).  The head (up to the first word
 * boundary) and the tail (after the last word the loops store: up to 15
 * bytes) are gathered byte by byte into their words (the lanes they
 * occupy; the rest zero, which adds nothing); the whole words between
 * are stored and summed eight, then four a round.
 */
uint32_t net_csum_copy(uint32_t sum, void *dst, const void *src, size_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	if (len < 16) {
		memcpy(dst, src, len);
		return net_csum_add(sum, dst, len);
	}
	size_t k = (size_t)(-(uintptr_t)d & 7);
	/* A 64-bit sum and its carries counted beside it: three operations
	 * a word on any ISA (add, compare, add), two where the compiler
	 * finds add-with-carry. */
	uint64_t lo = 0, hi = 0, w = 0;
#define CSUM_STEP(w) (lo += (w), hi += lo < (w))
	/* The head's bytes end at the word's top lane. */
	for (size_t i = 0; i < k; i++) {
		uint8_t b = s[i];
		d[i] = b;
		w = w >> 8 | (uint64_t)b << 56;
	}
	CSUM_STEP(w);
	d += k, s += k, len -= k;
	size_t nw = len / 8;   /* >= 1: len was at least 16 */
	csum_word *p = (csum_word *)(void *)d;
	unsigned off = (unsigned)((uintptr_t)s & 7);
	if (off == 0) {
		/* Co-aligned: one load per word. */
		const csum_word *q = (const csum_word *)(const void *)s;
		const csum_word *q8 = q + (nw & ~(size_t)7), *qe = q + nw;
		for (; q != q8; q += 8, p += 8) {
			uint64_t w0 = q[0], w1 = q[1], w2 = q[2], w3 = q[3];
			uint64_t w4 = q[4], w5 = q[5], w6 = q[6], w7 = q[7];
			p[0] = w0, p[1] = w1, p[2] = w2, p[3] = w3;
			p[4] = w4, p[5] = w5, p[6] = w6, p[7] = w7;
			CSUM_STEP(w0), CSUM_STEP(w1), CSUM_STEP(w2), CSUM_STEP(w3);
			CSUM_STEP(w4), CSUM_STEP(w5), CSUM_STEP(w6), CSUM_STEP(w7);
		}
		if (qe - q >= 4) {
			uint64_t w0 = q[0], w1 = q[1], w2 = q[2], w3 = q[3];
			p[0] = w0, p[1] = w1, p[2] = w2, p[3] = w3;
			CSUM_STEP(w0), CSUM_STEP(w1), CSUM_STEP(w2), CSUM_STEP(w3);
			q += 4, p += 4;
		}
		for (; q != qe; q++, p++) {
			w = *q;
			*p = w;
			CSUM_STEP(w);
		}
	} else {
		/* Not co-aligned (a response of any length moves the ring's
		 * position by odd amounts): aligned source loads, each stored
		 * word two neighbours shifted together (little-endian).  The
		 * word after the one holding a stored word's first byte also
		 * holds its last (off > 0).  No load reaches past the source:
		 * when the last word's second would, that word is left to
		 * the tail. */
		if ((len & 7) + off < 8)
			nw--;
		const csum_word *q = (const csum_word *)(const void *)(s - off);
		const csum_word *q8 = q + (nw & ~(size_t)7), *qe = q + nw;
		unsigned rs = 8 * off, ls = 64 - rs;
		uint64_t c = q[0];
		for (; q != q8; q += 8, p += 8) {
			uint64_t h1 = q[1], h2 = q[2], h3 = q[3], h4 = q[4];
			uint64_t h5 = q[5], h6 = q[6], h7 = q[7], h8 = q[8];
			uint64_t w0 = c >> rs | h1 << ls, w1 = h1 >> rs | h2 << ls;
			uint64_t w2 = h2 >> rs | h3 << ls, w3 = h3 >> rs | h4 << ls;
			uint64_t w4 = h4 >> rs | h5 << ls, w5 = h5 >> rs | h6 << ls;
			uint64_t w6 = h6 >> rs | h7 << ls, w7 = h7 >> rs | h8 << ls;
			p[0] = w0, p[1] = w1, p[2] = w2, p[3] = w3;
			p[4] = w4, p[5] = w5, p[6] = w6, p[7] = w7;
			CSUM_STEP(w0), CSUM_STEP(w1), CSUM_STEP(w2), CSUM_STEP(w3);
			CSUM_STEP(w4), CSUM_STEP(w5), CSUM_STEP(w6), CSUM_STEP(w7);
			c = h8;
		}
		if (qe - q >= 4) {
			uint64_t h1 = q[1], h2 = q[2], h3 = q[3], h4 = q[4];
			uint64_t w0 = c >> rs | h1 << ls, w1 = h1 >> rs | h2 << ls;
			uint64_t w2 = h2 >> rs | h3 << ls, w3 = h3 >> rs | h4 << ls;
			p[0] = w0, p[1] = w1, p[2] = w2, p[3] = w3;
			CSUM_STEP(w0), CSUM_STEP(w1), CSUM_STEP(w2), CSUM_STEP(w3);
			c = h4;
			q += 4, p += 4;
		}
		for (; q != qe; q++, p++) {
			uint64_t h = q[1];
			w = c >> rs | h << ls;
			*p = w;
			CSUM_STEP(w);
			c = h;
		}
	}
	/* The tail (up to 15 bytes) starts at a word's bottom lane. */
	d += nw * 8, s += nw * 8, len -= nw * 8;
	if (len >= 8) {
		w = csum_gather(d, s, 8);
		CSUM_STEP(w);
		d += 8, s += 8, len -= 8;
	}
	w = csum_gather(d, s, len);
	CSUM_STEP(w);
#undef CSUM_STEP
	uint64_t acc = 0;
	CSUM_ADD(acc, lo);
	CSUM_ADD(acc, hi);
	/* Native lanes from an even address, big-endian pairs seen from
	 * dst: swapped unless dst is odd (RFC 1071 2(B)). */
	uint32_t t = csum_fold64(acc);
	sum += (uintptr_t)dst & 1 ? t : csum_swap(t);
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

/* Six bytes compared in place (too short for memcmp's call). */
static bool mac_is(const uint8_t *a, const uint8_t *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
		(a[5] ^ b[5])) == 0;
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
	if (!mac_is(p, net.cfg.mac) && !mac_is(p, eth_broadcast)) {
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
	/* In a local: a byte store through net.tx could change net.tx
	 * itself as far as the compiler knows, so each would reload it. */
	uint8_t *f = net.tx;
	for (int i = 0; i < 6; i++) {       /* too short for memcpy's call */
		f[i] = dst[i];
		f[6 + i] = net.cfg.mac[i];
	}
	put16(f + 12, type);
	size_t len = NET_ETH_HDR + payload_len;
	/* The minimum Ethernet payload is 46 bytes; pad with zeros. */
	for (; len < 60; len++)                /* a few bytes: no memset call */
		f[len] = 0;
	net_stats.tx_frames++;
	int r = net.link.send(net.link.arg, f, len);
	net.tx = net.tx_own;      /* a buffer the link took is the device's now */
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
