/* UDP (RFC 768): checked delivery to bound ports, datagram output with a checksum. */
#include "kernel/net/net_impl.h"

uint32_t udp_pseudo_sum(uint32_t src, uint32_t dst, size_t len)
{
	return net_pseudo_sum(src, dst, IP_PROTO_UDP, len);
}

static struct udp_bind *lookup(uint16_t port)
{
	for (unsigned i = 0; i < NET_UDP_BINDS; i++)
		if (net.udp[i].port == port)
			return &net.udp[i];
	return NULL;
}

void udp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len, uint64_t now)
{
	(void)now;
	net_stats.udp_rx++;
	if (len < NET_UDP_HDR) {
		net_stats.udp_bad++;
		return;
	}
	size_t ulen = get16(p + 4);
	uint16_t sport = get16(p), dport = get16(p + 2);
	if (ulen < NET_UDP_HDR || ulen > len || dport == 0) {
		net_stats.udp_bad++;
		return;
	}
	/* Checksum 0 means the sender computed none (allowed over IPv4). */
	if (get16(p + 6) != 0 &&
	    net_csum_fold(net_csum_add(udp_pseudo_sum(src, dst, ulen), p, ulen)) != 0xffff) {
		net_stats.udp_bad_checksum++;
		return;
	}
	struct udp_bind *b = lookup(dport);
	if (!b) {
		net_stats.udp_no_port++;
		return;
	}
	b->fn(b->arg, src, sport, dport, p + NET_UDP_HDR, ulen - NET_UDP_HDR);
}

int net_udp_bind(uint16_t port, net_udp_fn fn, void *arg)
{
	if (port == 0 || !fn)
		return NET_EINVAL;
	if (lookup(port))
		return NET_EADDRINUSE;
	struct udp_bind *b = lookup(0);
	if (!b)
		return NET_ENOBUFS;
	b->port = port;
	b->fn = fn;
	b->arg = arg;
	return 0;
}

void net_udp_unbind(uint16_t port)
{
	struct udp_bind *b = port ? lookup(port) : NULL;
	if (b)
		memset(b, 0, sizeof(*b));
}

int net_udp_send(uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
		 const void *data, size_t len, uint64_t now_ns)
{
	if (len > NET_UDP_MAX)
		return NET_EMSGSIZE;
	if (src_port == 0 || dst_port == 0)
		return NET_EINVAL;
	uint8_t *u = ip_payload_out();
	size_t ulen = NET_UDP_HDR + len;
	put16(u, src_port);
	put16(u + 2, dst_port);
	put16(u + 4, (uint16_t)ulen);
	put16(u + 6, 0);
	/* data may point into the frame being built only if the caller is
	 * careless; move, not copy, keeps even that right. */
	if (len)
		memmove(u + NET_UDP_HDR, data, len);
	uint16_t c = (uint16_t)~net_csum_fold(
		net_csum_add(udp_pseudo_sum(net.cfg.ip, dst_ip, ulen), u, ulen));
	put16(u + 6, c ? c : 0xffff);
	net_stats.udp_tx++;
	return ip_output(dst_ip, IP_PROTO_UDP, ulen, now_ns);
}
