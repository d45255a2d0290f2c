/* The network stack's interface: Ethernet, ARP, IPv4, ICMP echo and UDP over one link. */
#ifndef KERNEL_NET_NET_H
#define KERNEL_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Arch-neutral and free of the kernel: it talks to the world only through
 * a struct net_link (send one frame) and the times its callers pass in
 * (ns, from any monotonic clock).  The kernel (kernel/net/net_kernel.c)
 * links it to virtio-net and drives it from one task; the host tests
 * (kernel/net/hosttest/) link it to a fake link and a fake clock.
 *
 * Not locked: the caller serialises every call.  Callbacks (UDP
 * receivers, the echo-reply handler, link->send) run inside the call that
 * caused them and may call net_udp_send / net_ping_send again.
 *
 * Addresses are host-order uint32_t (10.0.2.15 is 0x0a00020f); ports are
 * host-order uint16_t.  Every received frame is checked before anything in
 * it is used; see docs/net.md for the list.
 */

#define NET_NEVER UINT64_MAX
#define NET_IP(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

#define NET_ETH_HDR 14
#define NET_ETH_MTU 1500                 /* IPv4 packet, header included */
#define NET_IP_HDR 20                    /* what we send: no options */
#define NET_UDP_HDR 8
#define NET_UDP_MAX (NET_ETH_MTU - NET_IP_HDR - NET_UDP_HDR) /* 1472 */
#define NET_ICMP_HDR 8
#define NET_PING_MAX (NET_ETH_MTU - NET_IP_HDR - NET_ICMP_HDR)

#define NET_TTL 64

/* ARP timing: an answer is believed for NET_ARP_REACHABLE_NS; an
 * unanswered request is repeated every NET_ARP_RETRY_NS, NET_ARP_TRIES
 * times in all, then the entry and the packet waiting on it are dropped. */
#define NET_ARP_ENTRIES 16
#define NET_ARP_REACHABLE_NS (60ull * 1000000000ull)
#define NET_ARP_RETRY_NS (1000000000ull)
#define NET_ARP_TRIES 3

#define NET_UDP_BINDS 16
#define NET_ECHO_BINDS 8

/* Errors (negative, errno-like). */
#define NET_EIO      (-5)   /* the link is broken: the frame was dropped */
#define NET_EAGAIN   (-11)  /* the link had no room: the frame was dropped */
#define NET_EINVAL   (-22)
#define NET_EADDRINUSE (-98)
#define NET_ENOBUFS  (-105) /* no ARP entry or binding free */
#define NET_EMSGSIZE (-90)  /* payload larger than one unfragmented packet */
#define NET_EHOSTUNREACH (-113) /* destination we cannot send to */
#define NET_ENOMEM   (-12)
#define NET_EPIPE    (-32)  /* TCP: sending after shutdown */
#define NET_ECONNRESET (-104)
#define NET_EISCONN  (-106)
#define NET_ENOTCONN (-107)
#define NET_ETIMEDOUT (-110)
#define NET_ECONNREFUSED (-111)
#define NET_EFAULT   (-14)  /* TCP: the caller's copy function failed */

struct net_link {
	/* Send one Ethernet frame (14..1514 bytes; the buffer is only valid
	 * during the call).  0; NET_EAGAIN if it was dropped for want of
	 * room (a retry may succeed); any other negative value: the link is
	 * broken (reported as NET_EIO). */
	int (*send)(void *arg, const void *frame, size_t len);
	void *arg;
	/* Optional (NULL: none).  A buffer of NET_ETH_HDR + NET_ETH_MTU
	 * bytes, 2 past an 8-byte boundary, that send takes without a copy,
	 * or NULL when there is none: the stack builds its next frame there.
	 * It stays the link's offer (later calls return it again) until a
	 * send of it; anything else the stack sends is copied as before. */
	void *(*frame)(void *arg);
};

struct net_config {
	uint8_t mac[6];
	uint32_t ip, mask, gateway;
};

/* 10.0.2.15/24 via 10.0.2.2: QEMU's user-mode network. */
#define NET_QEMU_IP NET_IP(10, 0, 2, 15)
#define NET_QEMU_MASK NET_IP(255, 255, 255, 0)
#define NET_QEMU_GW NET_IP(10, 0, 2, 2)

/* Forget everything (ARP cache, bindings, counters) and start over. */
void net_init(const struct net_config *cfg, const struct net_link *link);

/* Hand the stack one received Ethernet frame (without FCS). */
void net_input(const void *frame, size_t len, uint64_t now_ns);

/* Run the ARP timers due by now_ns.  Returns the next time net_timer has
 * something to do (NET_NEVER if nothing): the caller sleeps until then. */
uint64_t net_timer(uint64_t now_ns);

/* The next deadline without running anything (visits every connection). */
uint64_t net_next_deadline(void);
/* A time no later than net_next_deadline, without visiting the ARP cache
 * or the TCP connections (bounds that a timer set lowers at once): cheap
 * enough for every unlock of the stack.  Sleeping until it may wake the
 * caller early for nothing, never late. */
uint64_t net_deadline_bound(void);

/* UDP receive callback: one datagram, valid only during the call. */
typedef void (*net_udp_fn)(void *arg, uint32_t src_ip, uint16_t src_port,
			   uint16_t dst_port, const void *data, size_t len);

/* Deliver datagrams for local `port` (nonzero) to fn.  0 or
 * NET_EADDRINUSE / NET_ENOBUFS / NET_EINVAL. */
int net_udp_bind(uint16_t port, net_udp_fn fn, void *arg);
void net_udp_unbind(uint16_t port);

/* Send one datagram.  0 once it is handed to the link or queued behind an
 * ARP request; else NET_E*. */
int net_udp_send(uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
		 const void *data, size_t len, uint64_t now_ns);

/* Send an ICMP echo request; replies go to the echo-reply handler. */
int net_ping_send(uint32_t dst_ip, uint16_t id, uint16_t seq, const void *data,
		  size_t len, uint64_t now_ns);
typedef void (*net_echo_fn)(void *arg, uint32_t src_ip, uint16_t id, uint16_t seq,
			    const void *data, size_t len);
/* Replies whose id is bound (below) go to that binding; the others to
 * this handler, if set. */
void net_set_echo_handler(net_echo_fn fn, void *arg);
/* Deliver echo replies with identifier id to fn: 0, or NET_EADDRINUSE /
 * NET_ENOBUFS (NET_ECHO_BINDS in use) / NET_EINVAL (id 0). */
int net_echo_bind(uint16_t id, net_echo_fn fn, void *arg);
void net_echo_unbind(uint16_t id);

/* The ARP cache's answer for ip, if it has one (for tests and tools). */
bool net_arp_lookup(uint32_t ip, uint8_t mac[6]);

/* Counters: every frame the stack did not use is counted once, by why. */
struct net_stats {
	uint64_t rx_frames, tx_frames, tx_link_drops;
	uint64_t eth_short, eth_not_ours, eth_unknown_type;
	uint64_t arp_rx, arp_bad, arp_requests_tx, arp_replies_tx, arp_timeouts;
	uint64_t arp_pending_dropped; /* a queued packet replaced or timed out */
	uint64_t arp_evictions;
	uint64_t ip_rx, ip_bad_header, ip_bad_checksum, ip_bad_length, ip_bad_src;
	uint64_t ip_frag_dropped, ip_not_ours, ip_unknown_proto;
	uint64_t icmp_rx, icmp_bad, icmp_echo_replied, icmp_echo_replies_rx, icmp_other;
	uint64_t udp_rx, udp_bad, udp_bad_checksum, udp_no_port, udp_tx;
};
extern struct net_stats net_stats;

/* The Internet checksum (RFC 1071) of buf, folded, not complemented,
 * starting from sum (for the pseudo-header). */
uint32_t net_csum_add(uint32_t sum, const void *buf, size_t len);
/* memcpy(dst, src, len), then net_csum_add(sum, dst, len), in one pass
 * over the destination's whole words at any alignment of dst and src. */
uint32_t net_csum_copy(uint32_t sum, void *dst, const void *src, size_t len);
/* A sum folded to 16 bits (inline: every frame folds a few). */
static inline uint16_t net_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#endif /* KERNEL_NET_NET_H */
