/* What the stack's layers share: state, byte-order helpers, the layer entry points. */
#ifndef KERNEL_NET_NET_IMPL_H
#define KERNEL_NET_NET_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/net/net.h"

#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17

/* Frames are read and written through these, never through casts of
 * packed structs: no alignment assumptions, network byte order explicit. */
static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

enum arp_state { ARP_FREE = 0, ARP_INCOMPLETE, ARP_REACHABLE };

struct arp_entry {
	uint8_t state;
	uint8_t tries;         /* requests sent, while INCOMPLETE */
	uint8_t mac[6];
	uint32_t ip;
	uint64_t deadline;     /* INCOMPLETE: next retry; REACHABLE: expiry */
	uint16_t pending_len;  /* an IPv4 packet waiting for the answer, or 0 */
	uint8_t pending[NET_ETH_MTU];
};

struct udp_bind {
	uint16_t port;         /* 0 = free */
	net_udp_fn fn;
	void *arg;
};

struct echo_bind {
	uint16_t id;           /* 0 = free */
	net_echo_fn fn;
	void *arg;
};

struct net_state {
	struct net_config cfg;
	struct net_link link;
	uint16_t ip_id;
	struct arp_entry arp[NET_ARP_ENTRIES];
	uint64_t arp_bound;    /* no later than any entry's deadline (0: unknown) */
	struct udp_bind udp[NET_UDP_BINDS];
	struct echo_bind echo[NET_ECHO_BINDS];
	net_echo_fn echo_fn;
	void *echo_arg;
	/* The frame being built for output.  Receive paths read from the
	 * caller's frame, so a reply built here never overwrites its input.
	 * It starts 2 bytes past an 8-byte boundary, as a frame does in
	 * virtio-net's buffers, so the link's copy moves whole words; the
	 * IPv4 header and an option-less TCP segment's data then start on a
	 * boundary, where TCP's copy from its ring (sequence numbers a
	 * multiple of 8 apart: set_mss) moves whole words too. */
	_Alignas(8) uint8_t tx_pad[2];
	uint8_t tx_own[NET_ETH_HDR + NET_ETH_MTU];
	/* Where the frame being built is: tx_own, or the buffer the link
	 * offered (net_tx_start); back to tx_own after each send. */
	uint8_t *tx;
};
extern struct net_state net;

extern const uint8_t eth_broadcast[6];

/* eth.c: frame out (payload already at net.tx + NET_ETH_HDR). */
int eth_send(const uint8_t dst[6], uint16_t type, size_t payload_len);

/* arp.c */
void arp_input(const uint8_t *p, size_t len, uint64_t now);
/* Send the IPv4 packet in net.tx (+NET_ETH_HDR, len bytes) to next hop
 * `hop`: now if its address is known, else after an ARP answer. */
int arp_output(uint32_t hop, size_t len, uint64_t now);
uint64_t arp_timer(uint64_t now);
uint64_t arp_next_deadline(void);
/* No later than arp_next_deadline, without visiting the cache. */
uint64_t arp_deadline_bound(void);

/* The sum of an IPv4 pseudo-header (source, destination, zero, protocol,
 * length: RFC 9293 3.1, RFC 768), as net_csum_add(0, header, 12) gives
 * it, without building the header. */
static inline uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	uint32_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto +
		     (uint16_t)len;
	s = (s & 0xffff) + (s >> 16);
	return (s & 0xffff) + (s >> 16);
}

/* ipv4.c */
void ip_input(const uint8_t *p, size_t len, uint64_t now);
/* Wrap the payload at net.tx + NET_ETH_HDR + NET_IP_HDR (len bytes) in an
 * IPv4 header and send it. */
int ip_output(uint32_t dst, uint8_t proto, size_t len, uint64_t now);
/* Start building a frame: in the link's buffer when it offers one (no
 * copy when it is sent), else in tx_own.  Every builder calls it first. */
static inline uint8_t *net_tx_start(void)
{
	uint8_t *f = net.link.frame ? net.link.frame(net.link.arg) : NULL;
	net.tx = f ? f : net.tx_own;
	return net.tx;
}

static inline uint8_t *ip_payload_out(void)
{
	return net_tx_start() + NET_ETH_HDR + NET_IP_HDR;
}
bool ip_is_broadcast(uint32_t a);

/* icmp.c, udp.c: the packet's payload; src/dst from its header. */
void icmp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len, uint64_t now);
void udp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len, uint64_t now);
uint32_t udp_pseudo_sum(uint32_t src, uint32_t dst, size_t len);

/* tcp.c: its state (struct tcp_conn is private to it), segments in, timers. */
#include "kernel/net/tcp.h"
#define TCP_HASH 256
struct tcp_global {
	struct tcp_mem mem;
	struct tcp_conn *hash[TCP_HASH];   /* connections with a remote end */
	struct tcp_conn *conns;            /* the same, in one list (the timers' walk) */
	struct tcp_conn *listeners;
	uint64_t secret;                   /* ISN key */
	uint16_t next_port;                /* next ephemeral port to try */
	uint64_t next_timer;               /* no connection's timer is earlier */
	uint64_t delack_ns;                /* 0: no delayed ACK */
	bool link_wait;                    /* some connection waits for link room */
};
extern struct tcp_global tcp_g;
uint32_t tcp_pseudo_sum(uint32_t src, uint32_t dst, size_t len);
/* Free every connection and listener (tests; the kernel never does). */
void tcp_free_all(void);
/* For tests: the current RTO and smoothed RTT (ns). */
uint64_t tcp_debug_rto(const struct tcp_conn *c);
uint64_t tcp_debug_srtt(const struct tcp_conn *c);
void tcp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len, uint64_t now);
/* tcp_timer visits the connections only when one may be due; it returns
 * a time no later than the next deadline.  tcp_next_deadline is exact
 * (it visits them all). */
uint64_t tcp_timer(uint64_t now);
uint64_t tcp_next_deadline(void);
/* No later than tcp_next_deadline, without visiting anything. */
uint64_t tcp_deadline_bound(void);

#endif /* KERNEL_NET_NET_IMPL_H */
