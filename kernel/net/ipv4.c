/* IPv4 (RFC 791) for a host: header checks, no forwarding, no fragments, output with TTL 64. */
#include "kernel/net/net_impl.h"

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

bool ip_is_broadcast(uint32_t a)
{
	uint32_t host = ~net.cfg.mask;
	return a == 0xffffffffu || (host != 0 && (a & host) == host &&
				    (a & net.cfg.mask) == (net.cfg.ip & net.cfg.mask));
}

static bool is_multicast(uint32_t a)
{
	return (a >> 28) == 0xe;
}

void ip_input(const uint8_t *p, size_t len, uint64_t now)
{
	net_stats.ip_rx++;
	if (len < NET_IP_HDR || (p[0] >> 4) != 4 || (p[0] & 0xf) < 5) {
		net_stats.ip_bad_header++;
		return;
	}
	size_t hlen = (size_t)(p[0] & 0xf) * 4;
	size_t total = get16(p + 2);
	/* Ethernet pads short packets, so the frame may be longer than the
	 * packet; never shorter. */
	if (hlen > len || total < hlen || total > len) {
		net_stats.ip_bad_length++;
		return;
	}
	if (net_csum_fold(net_csum_add(0, p, hlen)) != 0xffff) {
		net_stats.ip_bad_checksum++;
		return;
	}
	uint32_t src = get32(p + 12), dst = get32(p + 16);
	if (src == 0 || ip_is_broadcast(src) || is_multicast(src) || src == net.cfg.ip) {
		net_stats.ip_bad_src++;
		return;
	}
	/* A host, not a router: anything not addressed to us is dropped. */
	if (dst != net.cfg.ip && !ip_is_broadcast(dst)) {
		net_stats.ip_not_ours++;
		return;
	}
	/* Reassembly is not implemented: a fragment (more to come, or not
	 * the first) is dropped whole.  Options are skipped, not obeyed. */
	if (get16(p + 6) & (IP_MF | IP_OFFSET)) {
		net_stats.ip_frag_dropped++;
		return;
	}
	switch (p[9]) {
	case IP_PROTO_ICMP:
		icmp_input(src, dst, p + hlen, total - hlen, now);
		break;
	case IP_PROTO_UDP:
		udp_input(src, dst, p + hlen, total - hlen, now);
		break;
	case IP_PROTO_TCP:
		tcp_input(src, dst, p + hlen, total - hlen, now);
		break;
	default:
		net_stats.ip_unknown_proto++;
		break;
	}
}

int ip_output(uint32_t dst, uint8_t proto, size_t len, uint64_t now)
{
	if (len > NET_ETH_MTU - NET_IP_HDR)
		return NET_EMSGSIZE;
	if (dst == 0 || is_multicast(dst) || dst == net.cfg.ip ||
	    (dst >> 24) == 127)
		return NET_EHOSTUNREACH;
	uint8_t *h = net.tx + NET_ETH_HDR;
	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, (uint16_t)(NET_IP_HDR + len));
	put16(h + 4, net.ip_id++);
	put16(h + 6, 0);
	h[8] = NET_TTL;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, net.cfg.ip);
	put32(h + 16, dst);
	put16(h + 10, (uint16_t)~net_csum_fold(net_csum_add(0, h, NET_IP_HDR)));
	if (ip_is_broadcast(dst))
		return eth_send(eth_broadcast, ETH_TYPE_IPV4, NET_IP_HDR + len);
	bool on_link = (dst & net.cfg.mask) == (net.cfg.ip & net.cfg.mask);
	return arp_output(on_link ? dst : net.cfg.gateway, NET_IP_HDR + len, now);
}
