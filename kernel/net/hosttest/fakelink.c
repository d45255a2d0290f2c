/* A fake link for the stack's host tests and fuzz target: records frames, builds peers' frames. */
#include <string.h>

#include "kernel/net/hosttest/fakelink.h"
#include "kernel/net/net_impl.h"

struct fake_link fake;
const uint8_t mac_us[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
const uint8_t mac_gw[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
const uint8_t mac_peer[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x03 };

/* The buffer link.frame offers when fake.offer is set (2 bytes past an
 * 8-byte boundary, as the link's contract says). */
static _Alignas(8) uint8_t offer_space[2 + FAKE_FRAME_MAX];

static void *fake_frame(void *arg)
{
	(void)arg;
	return fake.offer ? offer_space + 2 : NULL;
}

int fake_send(void *arg, const void *frame, size_t len)
{
	const uint8_t *p = frame;
	(void)arg;
	if (frame == offer_space + 2)
		fake.offered++;
	if (len < 60 || len > FAKE_FRAME_MAX || memcmp(p + 6, mac_us, 6) != 0)
		fake.bad++;
	if (len >= NET_ETH_HDR + NET_IP_HDR && get16(p + 12) == ETH_TYPE_IPV4) {
		const uint8_t *h = p + NET_ETH_HDR;
		if (h[0] != 0x45 || h[8] != NET_TTL || get16(h + 2) > len - NET_ETH_HDR ||
		    net_csum_fold(net_csum_add(0, h, NET_IP_HDR)) != 0xffff ||
		    get32(h + 12) != IP_US)
			fake.bad++;
	}
	if (fake.full)
		return NET_EAGAIN;
	if (fake.n < FAKE_FRAMES) {
		memcpy(fake.frame[fake.n], frame, len);
		fake.len[fake.n] = len;
	}
	fake.n++;
	return 0;
}

void fake_clear(void)
{
	fake.n = 0;
}

void fake_start(void)
{
	struct net_config cfg = { { 0 }, NET_QEMU_IP, NET_QEMU_MASK, NET_QEMU_GW };
	struct net_link link = { fake_send, NULL, fake_frame };
	memcpy(cfg.mac, mac_us, 6);
	memset(&fake, 0, sizeof(fake));
	net_init(&cfg, &link);
}

static void eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	put16(buf + 12, type);
}

size_t fake_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t spa,
		const uint8_t tha[6], uint32_t tpa, const uint8_t dst[6])
{
	eth(buf, dst, sha, ETH_TYPE_ARP);
	uint8_t *a = buf + NET_ETH_HDR;
	put16(a, 1);
	put16(a + 2, ETH_TYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	memset(a + 28, 0, 18); /* Ethernet padding, as a real peer sends */
	return 60;
}

size_t fake_ip(uint8_t *buf, const uint8_t src_mac[6], uint32_t src, uint32_t dst,
	       uint8_t proto, const void *payload, size_t len)
{
	eth(buf, mac_us, src_mac, ETH_TYPE_IPV4);
	uint8_t *h = buf + NET_ETH_HDR;
	memset(h, 0, NET_IP_HDR);
	h[0] = 0x45;
	put16(h + 2, (uint16_t)(NET_IP_HDR + len));
	put16(h + 4, 0x1234);
	h[8] = 64;
	h[9] = proto;
	put32(h + 12, src);
	put32(h + 16, dst);
	put16(h + 10, (uint16_t)~net_csum_fold(net_csum_add(0, h, NET_IP_HDR)));
	memmove(h + NET_IP_HDR, payload, len);
	return NET_ETH_HDR + NET_IP_HDR + len;
}

size_t fake_ping(uint8_t *buf, const uint8_t src_mac[6], uint32_t src, uint8_t type,
		 uint16_t id, uint16_t seq, const void *data, size_t len)
{
	uint8_t m[NET_ETH_MTU];
	m[0] = type;
	m[1] = 0;
	put16(m + 2, 0);
	put16(m + 4, id);
	put16(m + 6, seq);
	memcpy(m + 8, data, len);
	put16(m + 2, (uint16_t)~net_csum_fold(net_csum_add(0, m, 8 + len)));
	return fake_ip(buf, src_mac, src, IP_US, IP_PROTO_ICMP, m, 8 + len);
}

size_t fake_udp(uint8_t *buf, const uint8_t src_mac[6], uint32_t src, uint16_t sport,
		uint16_t dport, const void *data, size_t len, bool csum)
{
	uint8_t u[NET_ETH_MTU];
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + len));
	put16(u + 6, 0);
	memcpy(u + 8, data, len);
	if (csum) {
		uint16_t c = (uint16_t)~net_csum_fold(
			net_csum_add(udp_pseudo_sum(src, IP_US, 8 + len), u, 8 + len));
		put16(u + 6, c ? c : 0xffff);
	}
	return fake_ip(buf, src_mac, src, IP_US, IP_PROTO_UDP, u, 8 + len);
}
