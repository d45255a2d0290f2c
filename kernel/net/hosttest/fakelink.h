/* A fake link for the stack's host tests and fuzz target: records frames, builds peers' frames. */
#ifndef KERNEL_NET_HOSTTEST_FAKELINK_H
#define KERNEL_NET_HOSTTEST_FAKELINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/net/net.h"

#define FAKE_FRAMES 32
#define FAKE_FRAME_MAX (NET_ETH_HDR + NET_ETH_MTU)

struct fake_link {
	unsigned n;                       /* frames recorded since the last clear */
	size_t len[FAKE_FRAMES];
	uint8_t frame[FAKE_FRAMES][FAKE_FRAME_MAX];
	uint64_t bad;                     /* frames the link itself found wrong */
	bool full;                        /* refuse every frame (NET_EAGAIN) */
	bool offer;                       /* offer a buffer to build in (link.frame) */
	unsigned offered;                 /* frames sent from the offered buffer */
};
extern struct fake_link fake;

/* The guest's and the peers' addresses in every test. */
extern const uint8_t mac_us[6], mac_gw[6], mac_peer[6];
#define IP_US NET_QEMU_IP
#define IP_GW NET_QEMU_GW
#define IP_PEER NET_IP(10, 0, 2, 3)
#define IP_FAR NET_IP(192, 168, 7, 1)

/* net_init with the QEMU configuration on the fake link; clears it. */
void fake_start(void);
void fake_clear(void);

/* Build frames from a peer (into buf; return the length). */
size_t fake_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t spa,
		const uint8_t tha[6], uint32_t tpa, const uint8_t dst[6]);
/* An IPv4 packet carrying payload; the header checksum is right. */
size_t fake_ip(uint8_t *buf, const uint8_t src_mac[6], uint32_t src, uint32_t dst,
	       uint8_t proto, const void *payload, size_t len);
size_t fake_ping(uint8_t *buf, const uint8_t src_mac[6], uint32_t src, uint8_t type,
		 uint16_t id, uint16_t seq, const void *data, size_t len);
size_t fake_udp(uint8_t *buf, const uint8_t src_mac[6], uint32_t src, uint16_t sport,
		uint16_t dport, const void *data, size_t len, bool csum);

/* Checks every sent frame's framing and, for IPv4, its header checksum,
 * lengths and TTL; a bad one counts in fake.bad. */
int fake_send(void *arg, const void *frame, size_t len);

#endif /* KERNEL_NET_HOSTTEST_FAKELINK_H */
