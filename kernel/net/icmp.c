/* ICMP (RFC 792): answer echo requests, deliver echo replies by identifier, send echo requests. */
#include "kernel/net/net_impl.h"

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

static struct echo_bind *find_echo(uint16_t id)
{
	for (unsigned i = 0; i < NET_ECHO_BINDS; i++)
		if (net.echo[i].id == id)
			return &net.echo[i];
	return NULL;
}

int net_echo_bind(uint16_t id, net_echo_fn fn, void *arg)
{
	if (id == 0 || !fn)
		return NET_EINVAL;
	if (find_echo(id))
		return NET_EADDRINUSE;
	struct echo_bind *b = find_echo(0);
	if (!b)
		return NET_ENOBUFS;
	b->id = id;
	b->fn = fn;
	b->arg = arg;
	return 0;
}

void net_echo_unbind(uint16_t id)
{
	struct echo_bind *b = id ? find_echo(id) : NULL;
	if (b)
		memset(b, 0, sizeof(*b));
}

void icmp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len, uint64_t now)
{
	net_stats.icmp_rx++;
	if (len < NET_ICMP_HDR || net_csum_fold(net_csum_add(0, p, len)) != 0xffff) {
		net_stats.icmp_bad++;
		return;
	}
	uint8_t type = p[0], code = p[1];
	if (type == ICMP_ECHO_REQUEST && code == 0) {
		/* Broadcast pings are not answered (RFC 1122 allows either). */
		if (dst != net.cfg.ip) {
			net_stats.icmp_other++;
			return;
		}
		uint8_t *r = ip_payload_out();
		memcpy(r, p, len);
		r[0] = ICMP_ECHO_REPLY;
		put16(r + 2, 0);
		put16(r + 2, (uint16_t)~net_csum_fold(net_csum_add(0, r, len)));
		if (ip_output(src, IP_PROTO_ICMP, len, now) == 0)
			net_stats.icmp_echo_replied++;
		return;
	}
	if (type == ICMP_ECHO_REPLY && code == 0) {
		net_stats.icmp_echo_replies_rx++;
		uint16_t id = get16(p + 4);
		/* id 0 is never bound: find_echo(0) names a free entry. */
		struct echo_bind *b = id ? find_echo(id) : NULL;
		if (b)
			b->fn(b->arg, src, id, get16(p + 6), p + NET_ICMP_HDR, len - NET_ICMP_HDR);
		else if (net.echo_fn)
			net.echo_fn(net.echo_arg, src, id, get16(p + 6), p + NET_ICMP_HDR,
				    len - NET_ICMP_HDR);
		return;
	}
	net_stats.icmp_other++;
}

int net_ping_send(uint32_t dst_ip, uint16_t id, uint16_t seq, const void *data,
		  size_t len, uint64_t now_ns)
{
	if (len > NET_PING_MAX)
		return NET_EMSGSIZE;
	uint8_t *r = ip_payload_out();
	r[0] = ICMP_ECHO_REQUEST;
	r[1] = 0;
	put16(r + 2, 0);
	put16(r + 4, id);
	put16(r + 6, seq);
	if (len)
		memcpy(r + NET_ICMP_HDR, data, len);
	put16(r + 2, (uint16_t)~net_csum_fold(net_csum_add(0, r, NET_ICMP_HDR + len)));
	return ip_output(dst_ip, IP_PROTO_ICMP, NET_ICMP_HDR + len, now_ns);
}

void net_set_echo_handler(net_echo_fn fn, void *arg)
{
	net.echo_fn = fn;
	net.echo_arg = arg;
}
