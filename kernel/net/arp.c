/* ARP (RFC 826) for IPv4 over Ethernet: a small cache with timeouts, one packet held per lookup. */
#include "kernel/net/net_impl.h"

#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

/*
 * Entry states (struct arp_entry.state), all changes made here:
 *
 *   FREE ──arp_output: unknown next hop; request sent──► INCOMPLETE
 *   INCOMPLETE ──deadline, tries < NET_ARP_TRIES: request again──► INCOMPLETE
 *   INCOMPLETE ──deadline, tries == NET_ARP_TRIES: packet dropped──► FREE
 *   INCOMPLETE, REACHABLE ──an ARP packet from the address──► REACHABLE
 *                           (held packet sent; expiry = now + REACHABLE_NS)
 *   REACHABLE ──expiry──► FREE        any ──evicted when the cache is full──► FREE
 */

static struct arp_entry *find(uint32_t ip)
{
	for (unsigned i = 0; i < NET_ARP_ENTRIES; i++)
		if (net.arp[i].state != ARP_FREE && net.arp[i].ip == ip)
			return &net.arp[i];
	return NULL;
}

/* A free entry, or the one whose deadline comes first (the least useful:
 * the oldest answer or the most hopeless question). */
static struct arp_entry *alloc(void)
{
	struct arp_entry *victim = &net.arp[0];
	for (unsigned i = 0; i < NET_ARP_ENTRIES; i++) {
		if (net.arp[i].state == ARP_FREE)
			return &net.arp[i];
		if (net.arp[i].deadline < victim->deadline)
			victim = &net.arp[i];
	}
	net_stats.arp_evictions++;
	if (victim->pending_len)
		net_stats.arp_pending_dropped++;
	victim->state = ARP_FREE;
	victim->pending_len = 0;
	return victim;
}

static int send_arp(uint16_t op, const uint8_t dst_mac[6], const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *a = net_tx_start() + NET_ETH_HDR;
	put16(a, 1);               /* hardware: Ethernet */
	put16(a + 2, ETH_TYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, net.cfg.mac, 6);
	put32(a + 14, net.cfg.ip);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	if (op == ARP_OP_REQUEST)
		net_stats.arp_requests_tx++;
	else
		net_stats.arp_replies_tx++;
	return eth_send(dst_mac, ETH_TYPE_ARP, ARP_LEN);
}

static int request(struct arp_entry *e, uint64_t now)
{
	static const uint8_t zero[6];
	e->tries++;
	e->deadline = now + NET_ARP_RETRY_NS;
	if (e->deadline < net.arp_bound)
		net.arp_bound = e->deadline;
	return send_arp(ARP_OP_REQUEST, eth_broadcast, zero, e->ip);
}

static bool on_link(uint32_t ip)
{
	return (ip & net.cfg.mask) == (net.cfg.ip & net.cfg.mask);
}

void arp_input(const uint8_t *a, size_t len, uint64_t now)
{
	net_stats.arp_rx++;
	if (len < ARP_LEN || get16(a) != 1 || get16(a + 2) != ETH_TYPE_IPV4 || a[4] != 6 ||
	    a[5] != 4) {
		net_stats.arp_bad++;
		return;
	}
	uint16_t op = get16(a + 6);
	const uint8_t *sha = a + 8;
	uint32_t spa = get32(a + 14), tpa = get32(a + 24);
	/* A sender with a group MAC, or claiming an address that cannot be a
	 * host (ours, 0, broadcast, off our subnet), is not believed. */
	if ((op != ARP_OP_REQUEST && op != ARP_OP_REPLY) || (sha[0] & 1) ||
	    spa == net.cfg.ip || spa == 0 || ip_is_broadcast(spa) || !on_link(spa)) {
		net_stats.arp_bad++;
		return;
	}
	/* RFC 826's merge: update an entry we have; add one only if the
	 * packet is meant for us. */
	struct arp_entry *e = find(spa);
	if (!e && tpa == net.cfg.ip) {
		e = alloc();
		e->ip = spa;
		e->tries = 0;
		e->pending_len = 0;
	}
	if (e) {
		memcpy(e->mac, sha, 6);
		e->state = ARP_REACHABLE;
		e->deadline = now + NET_ARP_REACHABLE_NS;
		if (e->deadline < net.arp_bound)
			net.arp_bound = e->deadline;
		if (e->pending_len) {
			size_t n = e->pending_len;
			e->pending_len = 0;
			memcpy(net_tx_start() + NET_ETH_HDR, e->pending, n);
			eth_send(e->mac, ETH_TYPE_IPV4, n);
		}
	}
	if (op == ARP_OP_REQUEST && tpa == net.cfg.ip)
		send_arp(ARP_OP_REPLY, sha, sha, spa);
}

int arp_output(uint32_t hop, size_t len, uint64_t now)
{
	struct arp_entry *e = find(hop);
	if (e && e->state == ARP_REACHABLE)
		return eth_send(e->mac, ETH_TYPE_IPV4, len);
	if (!e) {
		e = alloc();
		e->ip = hop;
		e->state = ARP_INCOMPLETE;
		e->tries = 0;
		memcpy(e->pending, net.tx + NET_ETH_HDR, len);
		e->pending_len = (uint16_t)len;
		request(e, now);
		return 0;
	}
	/* Still asking: the newest packet replaces the one held. */
	if (e->pending_len)
		net_stats.arp_pending_dropped++;
	memcpy(e->pending, net.tx + NET_ETH_HDR, len);
	e->pending_len = (uint16_t)len;
	return 0;
}

/* Walks the cache only when an entry may be due: net.arp_bound is
 * lowered whenever a deadline is set and made exact by each walk. */
uint64_t arp_timer(uint64_t now)
{
	if (now < net.arp_bound)
		return net.arp_bound;
	for (unsigned i = 0; i < NET_ARP_ENTRIES; i++) {
		struct arp_entry *e = &net.arp[i];
		if (e->state == ARP_FREE || e->deadline > now)
			continue;
		if (e->state == ARP_INCOMPLETE && e->tries < NET_ARP_TRIES) {
			request(e, now);
			continue;
		}
		if (e->state == ARP_INCOMPLETE) {
			net_stats.arp_timeouts++;
			if (e->pending_len)
				net_stats.arp_pending_dropped++;
		}
		e->state = ARP_FREE;
		e->pending_len = 0;
	}
	net.arp_bound = arp_next_deadline();
	return net.arp_bound;
}

uint64_t arp_deadline_bound(void)
{
	return net.arp_bound;
}

uint64_t arp_next_deadline(void)
{
	uint64_t next = NET_NEVER;
	for (unsigned i = 0; i < NET_ARP_ENTRIES; i++)
		if (net.arp[i].state != ARP_FREE && net.arp[i].deadline < next)
			next = net.arp[i].deadline;
	return next;
}

bool net_arp_lookup(uint32_t ip, uint8_t mac[6])
{
	struct arp_entry *e = find(ip);
	if (!e || e->state != ARP_REACHABLE)
		return false;
	memcpy(mac, e->mac, 6);
	return true;
}
