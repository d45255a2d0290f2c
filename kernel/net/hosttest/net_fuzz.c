/* libFuzzer target: sequences of frames (raw, or with sums fixed so deeper layers are reached) and clock steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/hosttest/fakelink.h"
#include "kernel/net/net_impl.h"

/*
 * The input is a list of records, each starting with an opcode byte:
 *   0  clock step: next byte * 50 ms, then net_timer
 *   1  raw frame: 2-byte length, then that many bytes (as many as remain)
 *   2  IPv4 packet from the gateway or a peer: header fields from the
 *      input, the header checksum made right, Ethernet header to us;
 *      then maybe one header byte overwritten, the sum maybe fixed again
 *   3  UDP datagram with a right checksum (to port 7 or another)
 *   4  ICMP message with a right checksum
 *   5  ARP packet from the input, to us
 *   6  the guest sends a UDP datagram or a ping
 * Whatever arrives, every frame the stack sends must be well formed
 * (fake_send checks) and the stack must not crash (ASan, UBSan).
 */

static void echo(void *arg, uint32_t src, uint16_t sport, uint16_t dport, const void *data,
		 size_t len)
{
	(void)arg;
	net_udp_send(dport, src, sport, data, len, 0);
}

/* Each frame goes in through a heap copy of exactly its length, so ASan
 * sees any read past its end. */
static void input(const uint8_t *frame, size_t n, uint64_t now)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, frame, n);
	net_input(copy, n, now);
	free(copy);
}

/* Echo replies for identifier 1 trigger the next request (reentrancy). */
static void pong(void *arg, uint32_t src, uint16_t id, uint16_t seq, const void *data, size_t len)
{
	(void)arg;
	net_ping_send(src, id, (uint16_t)(seq + 1), data, len, 0);
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static size_t take_buf(struct in *in, uint8_t *out, size_t want)
{
	if (want > in->n)
		want = in->n;
	memcpy(out, in->p, want);
	in->p += want;
	in->n -= want;
	return want;
}

static uint32_t pick_ip(uint8_t b)
{
	static const uint32_t ips[] = { IP_GW, IP_PEER, IP_FAR, IP_US,
					NET_IP(10, 0, 2, 255), 0xffffffffu, 0,
					NET_IP(224, 0, 0, 1) };
	return ips[b % 8];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[FAKE_FRAME_MAX], pl[NET_ETH_MTU];
	struct in in = { data, size };
	uint64_t now = 0;

	fake_start();
	net_udp_bind(7, echo, NULL);
	net_echo_bind(1, pong, NULL);
	while (in.n) {
		uint8_t op = take(&in) % 7;
		size_t n, len;
		uint8_t b;
		switch (op) {
		case 0:
			now += (uint64_t)take(&in) * 50000000ull;
			net_timer(now);
			break;
		case 1:
			len = (size_t)take(&in) << 8;
			len |= take(&in);
			len %= FAKE_FRAME_MAX + 1;
			n = take_buf(&in, frame, len);
			input(frame, n, now);
			break;
		case 2:
			b = take(&in);
			len = take_buf(&in, pl, take(&in));
			n = fake_ip(frame, b & 1 ? mac_gw : mac_peer, pick_ip(b >> 1),
				    pick_ip(b >> 4), take(&in), pl, len);
			/* Let the input overwrite header fields after the sum
			 * (flags, fragment offset, lengths), sometimes. */
			if (b & 0x80) {
				uint8_t at = take(&in) % NET_IP_HDR;
				frame[NET_ETH_HDR + at] = take(&in);
				/* ... and make the sum right again, sometimes,
				 * so the damage passes the checksum. */
				if (take(&in) & 1) {
					uint8_t *h = frame + NET_ETH_HDR;
					size_t hl = (size_t)(h[0] & 0xf) * 4;
					if (hl > n - NET_ETH_HDR)
						hl = n - NET_ETH_HDR;
					put16(h + 10, 0);
					put16(h + 10, (uint16_t)~net_csum_fold(net_csum_add(0, h, hl)));
				}
			}
			input(frame, n, now);
			break;
		case 3:
			b = take(&in);
			len = take_buf(&in, pl, take(&in));
			n = fake_udp(frame, mac_peer, b & 1 ? IP_PEER : IP_FAR, 5000,
				     b & 2 ? 7 : take(&in), pl, len, b & 4);
			input(frame, n, now);
			break;
		case 4:
			b = take(&in);
			len = take_buf(&in, pl, take(&in));
			n = fake_ping(frame, mac_gw, IP_GW, b, take(&in), take(&in), pl, len);
			input(frame, n, now);
			break;
		case 5: {
			uint8_t a[28];
			memset(a, 0, sizeof(a));
			take_buf(&in, a, sizeof(a));
			memcpy(frame, mac_us, 6);
			memcpy(frame + 6, mac_peer, 6);
			put16(frame + 12, ETH_TYPE_ARP);
			memcpy(frame + NET_ETH_HDR, a, sizeof(a));
			memset(frame + NET_ETH_HDR + 28, 0, 18);
			input(frame, 60, now);
			break;
		}
		case 6:
			b = take(&in);
			len = take_buf(&in, pl, take(&in));
			if (b & 1)
				net_ping_send(pick_ip(b >> 1), 1, 2, pl, len, now);
			else
				net_udp_send(1234, pick_ip(b >> 1), 9, pl, len, now);
			break;
		}
		if (fake.bad) {
			fprintf(stderr, "net_fuzz: the stack sent a malformed frame\n");
			abort();
		}
		fake.n = 0;
	}
	return 0;
}
